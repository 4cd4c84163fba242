"""A few tasks that show what switchyard does. `make dev` runs them.

Try, while `make dev` runs:

    cd examples/quickstart
    ../../.venv/bin/switchyard trigger hello-world --payload '{"name": "Ada"}' --wait
    ../../.venv/bin/switchyard trigger charge-invoice \
        --payload '{"id": "inv_1", "amount_cents": 900}'
    ../../.venv/bin/switchyard trigger flaky-sync --wait
    ../../.venv/bin/switchyard trigger approve-expense --payload '{"id": "exp_7"}'
    ../../.venv/bin/switchyard tokens list
    ../../.venv/bin/switchyard runs list
"""

from __future__ import annotations

import asyncio
import random
import time

from pydantic import BaseModel, Field

from switchyard import AbortTaskRunError, RunContext, queue, schema_task, step, task, wait

payments = queue("payments", concurrency_limit=2)


@task(id="hello-world")
async def hello_world(payload: dict[str, str], ctx: RunContext) -> dict[str, str]:
    """Greets someone; the smallest possible task."""
    await asyncio.sleep(0.1)
    return {"message": f"Hello, {payload.get('name', 'world')}!", "run": ctx.run.id}


class Invoice(BaseModel):
    id: str
    amount_cents: int = Field(gt=0)


@schema_task(id="charge-invoice", schema=Invoice, queue=payments, max_duration="30s")
async def charge_invoice(invoice: Invoice, ctx: RunContext) -> dict[str, object]:
    """Validated payload, shared queue with a concurrency limit of 2."""
    if invoice.amount_cents > 1_000_000:
        raise AbortTaskRunError("amount needs manual review; not retrying")
    await asyncio.sleep(1)
    return {"charged": invoice.amount_cents, "invoice": invoice.id, "attempt": ctx.attempt.number}


@task(id="flaky-sync", retry={"max_attempts": 4, "min_timeout": 0.5, "factor": 2})
def flaky_sync(payload: object, ctx: RunContext) -> str:
    """A plain `def` task (runs in a thread) that fails now and then and is retried."""
    time.sleep(0.2)
    if ctx.attempt.number < 3 and random.random() < 0.8:
        raise RuntimeError(f"transient failure on attempt {ctx.attempt.number}")
    return f"succeeded on attempt {ctx.attempt.number}"


@task(id="fan-out")
async def fan_out(payload: dict[str, int]) -> dict[str, int]:
    """Triggers children in one batch; each is a run of its own."""
    count = int(payload.get("count", 5))
    batch = await hello_world.batch_trigger([{"name": f"child {i}"} for i in range(count)])
    return {"children": len(batch.runs)}


@task(id="approve-expense")
async def approve_expense(payload: dict[str, object], ctx: RunContext) -> dict[str, object]:
    """Waits for a human: the run frees its slot until the token is completed.

    Complete it with `switchyard tokens complete ID --data '{"approved": true}'` or
    `curl -X POST -H 'Content-Type: application/json' -d '{"approved": true}' URL`
    (the URL is printed in the worker log and shown by `switchyard tokens show ID`).
    """
    token = await wait.create_token(timeout="1h", tags=[f"expense:{payload.get('id', '?')}"])
    await step("notify", lambda: print(f"approve expense {payload.get('id')}: POST {token.url}"))
    decision = await wait.for_token(token)
    if not decision.ok:
        return {"approved": False, "reason": "nobody answered within the hour"}
    await wait.for_(seconds=10)  # a durable pause (over 5 s): survives a restart of `make dev`
    return {"approved": bool(decision.output.get("approved")), "by": decision.output.get("by")}
