"""Pure domain: durations, retry policy, ids, states, idempotency keys, config."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from switchyard.config import define_config, load_config
from switchyard.core.durations import parse_duration
from switchyard.core.errors import ConfigError, InvalidOptionError
from switchyard.core.idempotency import scoped_key
from switchyard.core.ids import new_id, prefix_of
from switchyard.core.retry import RetryPolicy
from switchyard.core.states import (
    FINAL_STATES,
    TRANSITIONS,
    RunStatus,
    can_transition,
    check_transition,
    predecessors,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (30, 30.0),
        (1.5, 1.5),
        ("45", 45.0),
        ("250ms", 0.25),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("2d", 172800.0),
        ("1w", 604800.0),
        (" 1H 5S ", 3605.0),
        (dt.timedelta(minutes=2), 120.0),
    ],
)
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "forever", "5 minutes", "1h-", "-5s", -1, float("inf"), True])
def test_unparseable_durations_are_errors(bad: object) -> None:
    with pytest.raises(InvalidOptionError) as info:
        parse_duration(bad, option="ttl")  # type: ignore[arg-type]
    assert "ttl" in str(info.value)


def test_retry_backoff_grows_and_caps() -> None:
    policy = RetryPolicy(max_attempts=10, factor=2, min_timeout=1, max_timeout=10, randomize=False)
    assert [policy.backoff(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert policy.should_retry(9) and not policy.should_retry(10)
    jittered = RetryPolicy(min_timeout=1, max_timeout=60)
    values = {jittered.backoff(1, random.Random(i)) for i in range(20)}
    assert all(1 <= v < 2 for v in values) and len(values) > 1


def test_retry_merge_order_and_validation() -> None:
    base = RetryPolicy().merged({"max_attempts": 5}).merged({"min_timeout": "2s"})
    assert (base.max_attempts, base.min_timeout) == (5, 2.0)
    assert RetryPolicy.from_json(base.to_json()) == base
    with pytest.raises(InvalidOptionError, match="only the keys"):
        RetryPolicy().merged({"attempts": 3})
    with pytest.raises(InvalidOptionError):
        RetryPolicy(max_attempts=0)


def test_ids_are_prefixed_and_sortable() -> None:
    a, b = new_id("run", 1000.0), new_id("run", 1001.0)
    assert a.startswith("run_") and len(a) == 30 and a < b and prefix_of(a) == "run"
    with pytest.raises(ValueError):
        new_id("nope", 1.0)


def test_transitions_are_data() -> None:
    assert {s for s in RunStatus if not TRANSITIONS[s]} == FINAL_STATES
    assert can_transition(RunStatus.QUEUED, RunStatus.EXECUTING)
    assert not can_transition(RunStatus.COMPLETED, RunStatus.QUEUED)
    with pytest.raises(Exception, match="cannot go from COMPLETED"):
        check_transition(RunStatus.COMPLETED, RunStatus.QUEUED)
    assert set(predecessors(RunStatus.CANCELED)) == {
        RunStatus.DELAYED,
        RunStatus.QUEUED,
        RunStatus.EXECUTING,
        RunStatus.WAITING,
    }


def test_idempotency_scopes() -> None:
    assert scoped_key("k", "global") == "k"
    run_a = scoped_key("k", "run", run_id="run_a")
    assert run_a != scoped_key("k", "run", run_id="run_b") and len(run_a) == 64
    assert scoped_key("k", "attempt", run_id="run_a", attempt_number=1) != scoped_key(
        "k", "attempt", run_id="run_a", attempt_number=2
    )
    with pytest.raises(InvalidOptionError):
        scoped_key("k", "run")


def test_config_file_and_env_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "switchyard_config.py"
    cfg.write_text(
        "from switchyard import define_config\n"
        "config = define_config(database_url='sqlite:///x.db', app=['tasks'], "
        "retry={'max_attempts': 7}, max_duration='1h', worker={'concurrency': 3})\n"
    )
    config = load_config(str(cfg), environ={})
    assert config.database_url == "sqlite:///x.db" and config.app == ("tasks",)
    assert config.retry.max_attempts == 7 and config.max_duration == 3600
    assert config.worker.concurrency == 3
    env = {"SWITCHYARD_DATABASE_URL": "postgresql://db/x", "SWITCHYARD_ENV": "prod"}
    overridden = load_config(str(cfg), environ=env)
    assert overridden.database_url == "postgresql://db/x" and overridden.environment == "prod"
    monkeypatch.chdir(tmp_path)
    assert load_config(None, environ={}).database_url == "sqlite:///x.db"


def test_bad_config_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(str(tmp_path / "missing.py"), environ={})
    with pytest.raises(ConfigError, match="known settings"):
        define_config(worker={"concurency": 3})
    with pytest.raises(InvalidOptionError, match="max_duration"):
        define_config(max_duration="soon")
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(ConfigError, match="defines no"):
        load_config(str(empty), environ={})


def test_ids_made_in_one_millisecond_keep_creation_order() -> None:
    made = [new_id("waitpoint", 5000.0) for _ in range(200)]
    assert made == sorted(made) and len(set(made)) == 200
