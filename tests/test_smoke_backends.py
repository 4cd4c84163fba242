from switchyard.core.models import NewRun
from switchyard.storage import Storage


def test_trigger_and_claim_roundtrip(storage: Storage) -> None:
    [result] = storage.trigger([NewRun(task_id="t", queue="task/t", payload_json="{}")], 100.0)
    claims = storage.claim("dev", "worker_a", ["t"], 10, 100.0, 30.0)
    assert [c.run.id for c in claims] == [result.run_id]
