"""Steps recorded once per run, over the host's cursor (see ``Storage.record_step``)."""

from __future__ import annotations

import json
from typing import Any

from switchyard.core.errors import RunNotExecutingError
from switchyard.core.waitpoints import JournalRef
from switchyard.storage.sql_hooks import SqlHooks


class SqlSteps(SqlHooks):
    """Mixin: record a step's result, fenced by its attempt; read a run's steps."""

    def record_step(
        self,
        ref: JournalRef,
        attempt_id: str,
        key: str | None,
        result_json: str,
        now: float,
    ) -> str:
        """Record a step in its attempt's journal and, with a ``key``, for the whole run.

        Fenced like an attempt's outcome: unless ``attempt_id`` is still the run's live
        attempt (executing, or suspended with its coroutine parked), nothing is written
        and :class:`RunNotExecutingError` is raised. The first record of a key wins;
        the result returned is the one stored.
        """
        with self._tx() as cur:
            cur.execute(
                self.q["lock_live_attempt"], {"run_id": ref.run_id, "attempt_id": attempt_id}
            )
            if cur.fetchone() is None:
                raise RunNotExecutingError(ref.run_id)
            stored = result_json
            if key is not None:
                params = {"run_id": ref.run_id, "step_key": key}
                cur.execute(
                    self.q["insert_step"],
                    {
                        **params,
                        "attempt_number": ref.attempt_number,
                        "result": result_json,
                        "now": now,
                    },
                )
                if not cur.rowcount:
                    cur.execute(self.q["get_step"], params)
                    stored = cur.fetchone()["result"]
            cur.execute(
                self.q["insert_step_journal"],
                {
                    "run_id": ref.run_id,
                    "attempt_number": ref.attempt_number,
                    "position": ref.position,
                    "kind": ref.kind,
                    "name": ref.name,
                    "waitpoint_id": None,
                    "result": stored,
                    "now": now,
                },
            )
            return stored

    def load_steps(self, run_id: str) -> dict[str, Any]:
        """The results of the run's once-per-run steps, by key (``name#n``)."""
        with self._read() as cur:
            cur.execute(self.q["load_steps"], {"run_id": run_id})
            return {row["step_key"]: json.loads(row["result"]) for row in cur.fetchall()}
