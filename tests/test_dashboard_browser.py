"""Acceptance: the dashboard in a real browser (Debian's Chromium driven by Playwright)
against a real `switchyard dev` process, on SQLite and on PostgreSQL.

A token is completed from its page and the waiting run is seen to finish; a paused
queue keeps a triggered run queued until it is resumed; a run is triggered from a
task's test form and opens. Screenshots of every page go to tests/artifacts/dashboard/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import drop_pg_schema, new_pg_schema_url, require_postgres
from tests.processes import poll, serving

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("SWITCHYARD_TEST_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).parent / "artifacts" / "dashboard"
PASSWORD = "open sesame 42"
TIMEOUT_MS = 15_000
MAX_PAYLOAD = 4096

TASKS = """
from pydantic import BaseModel, Field

from switchyard import schema_task, task, wait


class Order(BaseModel):
    id: str = Field(description="The order's id")
    amount_cents: int = Field(gt=0)
    express: bool = False
    note: str | None = None


@schema_task(schema=Order, id="ui-order")
async def order(o: Order):
    return {"id": o.id, "total": o.amount_cents * (2 if o.express else 1)}


@task(id="ui-approval")
async def approval(payload):
    token = await wait.create_token(tags=["ui:" + payload["who"]], timeout="1h")
    result = await wait.for_token(token)
    return {"decision": result.output}


@task(id="ui-quick")
async def quick(payload):
    return {"echo": payload}


@task(id="ui-sleeper")
async def sleeper(payload):
    await wait.for_(hours=1)
    return "woke up"
"""


def _chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    message = f"no Chromium at {CHROMIUM}: `apt-get install chromium` (make test does)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def dev(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One `switchyard dev` with the UI tasks, a dashboard password, and its printed link."""
    project = tmp_path_factory.mktemp(f"dashboard-{request.param}")
    (project / "ui_tasks.py").write_text(TASKS)
    (project / "switchyard_config.py").write_text(
        "from switchyard import define_config\n"
        f"config = define_config(app=['ui_tasks'], max_payload_bytes={MAX_PAYLOAD})\n"
    )
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{project}/switchyard.db"
    else:
        require_postgres()
        url, schema = new_pg_schema_url()
    env = {"SWITCHYARD_DASHBOARD_PASSWORD": PASSWORD}
    try:
        with serving(project, url, ["--app", "ui_tasks", "dev"], env=env) as (proc, base):
            found = poll(
                lambda: re.search(r"dashboard: (\S+#key=(\S+))", proc.output()), what="link"
            )
            yield Dev(request.param, base, found.group(1), found.group(2))
    finally:
        if schema:
            drop_pg_schema(schema)


class Dev:
    def __init__(self, backend: str, base: str, link: str, key: str) -> None:
        self.backend, self.base, self.link, self.key = backend, base, link, key
        self.http = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )

    def trigger(self, task: str, payload: Any, **options: Any) -> str:
        answer = self.http.post(
            f"/api/v1/tasks/{task}/trigger", json={"payload": payload, "options": options}
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def run(self, run_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self.http.get(f"/api/v1/runs/{run_id}").json()
        return data


@pytest.fixture
def page(browser: Any, dev: Dev) -> Iterator[Any]:
    """A signed-in page (through the link `switchyard dev` printed)."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(dev.link)
    tab.wait_for_selector("#nav:not([hidden])")
    assert "#key=" not in tab.url  # the key left the address bar
    yield tab
    context.close()
    assert not errors, errors


def shot(tab: Any, dev: Dev, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{dev.backend}-{name}.png"), full_page=True)


def status_of(tab: Any) -> str:
    return str(tab.locator("h1 .badge").get_attribute("data-status"))


def wait_status(tab: Any, status: str) -> None:
    tab.wait_for_selector(f"h1 .badge[data-status='{status}']")


def test_sign_in_with_the_password_then_out(browser: Any, dev: Dev) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    tab.goto(dev.base + "/")
    tab.wait_for_selector("form input[name=password]")
    shot(tab, dev, "sign-in")
    tab.fill("input[name=password]", "not it")
    tab.click("text=Sign in with password")
    tab.wait_for_selector(".error-text:has-text('wrong dashboard password')")
    tab.fill("input[name=api_key]", "sy_dev_forged")
    tab.click("text=Sign in with key")
    tab.wait_for_selector(".error-text:has-text('invalid API key')")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("text=Sign in with password")
    tab.wait_for_selector("h1:has-text('Runs')")
    assert tab.locator("#env").inner_text() == "environment dev"
    tab.reload()  # the session survives a reload of the tab
    tab.wait_for_selector("h1:has-text('Runs')")
    tab.click("#sign-out")
    tab.wait_for_selector("form input[name=password]")
    context.close()


def test_token_completed_from_its_page(page: Any, dev: Dev) -> None:
    run_id = dev.trigger("ui-approval", {"who": "ada"}, tags=["ui:test"])
    page.goto(f"{dev.base}/#/runs/{run_id}")
    wait_status(page, "WAITING")
    token_link = page.locator("table.waitpoints a[href^='#/tokens/']")
    token_link.wait_for()
    shot(page, dev, "run-waiting")
    token_link.click()
    page.wait_for_selector("h1 .badge[data-status='PENDING']")
    # invalid or too large JSON is refused in the page, and nothing is sent
    page.fill("textarea[name=output]", '{"approved": tru')
    page.wait_for_selector(".editor .status.bad:has-text('Not valid JSON')")
    page.click("text=Complete token")
    page.wait_for_selector(".toast.error:has-text('Not valid JSON')")
    page.fill("textarea[name=output]", '{"note": "' + "x" * MAX_PAYLOAD + '"}')
    page.wait_for_selector(f".editor .status.bad:has-text('the limit is {MAX_PAYLOAD:,}')")
    page.click("text=Complete token")
    page.wait_for_selector(".toast.error:has-text('Too large')")
    assert dev.run(run_id)["status"] == "WAITING"
    shot(page, dev, "token-pending")
    page.fill("textarea[name=output]", '{"approved": true, "by": "ada"}')
    page.click("text=Complete token")
    page.wait_for_selector("h1 .badge[data-status='COMPLETED']")
    shot(page, dev, "token-completed")
    page.click("dd a[href^='#/runs/']")  # "Created by": back to the run
    wait_status(page, "COMPLETED")
    output = page.locator(".card:has(h2:has-text('Output')) pre").inner_text()
    assert '"by": "ada"' in output
    assert dev.run(run_id)["output"] == {"decision": {"approved": True, "by": "ada"}}
    shot(page, dev, "run-completed")
    page.goto(f"{dev.base}/#/tokens?status=COMPLETED")
    page.wait_for_selector("table.tokens tbody tr")
    shot(page, dev, "tokens")

    # another one, found by its tag in the list, timed out from its page
    other = dev.trigger("ui-approval", {"who": "carol"})
    page.goto(f"{dev.base}/#/tokens")
    page.fill("input[name=tag]", "ui:carol")
    page.press("input[name=tag]", "Enter")
    page.wait_for_url(re.compile(r"tag=ui%3Acarol"))
    page.locator("tr:has(.chip:text-is('ui:carol')) a[href^='#/tokens/waitpoint_']").click()
    page.wait_for_selector("h1 .badge[data-status='PENDING']")
    page.click("text=Time out now")
    page.click("dialog button:has-text('Time out')")
    page.wait_for_selector("h1 .badge[data-status='TIMED_OUT']")
    poll(lambda: dev.run(other)["status"] == "COMPLETED", what="the timed-out run finishing")
    assert dev.run(other)["output"] == {"decision": None}


def test_paused_queue_keeps_a_run_queued_until_resumed(page: Any, dev: Dev) -> None:
    page.goto(f"{dev.base}/#/queues")
    row = page.locator("tr[data-queue='task/ui-quick']")
    row.locator("button:has-text('Pause')").click()
    row.locator(".badge[data-status='paused']").wait_for()
    run_id = dev.trigger("ui-quick", {"n": 1})
    poll(lambda: row.locator("[data-field=queued]").inner_text() == "1", what="queued 1")
    shot(page, dev, "queues-paused")
    page.goto(f"{dev.base}/#/runs/{run_id}")
    wait_status(page, "QUEUED")
    page.wait_for_timeout(1500)  # a few refreshes and worker polls later: still queued
    assert status_of(page) == "QUEUED" and dev.run(run_id)["status"] == "QUEUED"
    page.goto(f"{dev.base}/#/queues")
    page.locator("tr[data-queue='task/ui-quick'] button:has-text('Resume')").click()
    page.goto(f"{dev.base}/#/runs/{run_id}")
    wait_status(page, "COMPLETED")

    # a limit override, through its dialog, shown with the code's limit; then reset
    page.goto(f"{dev.base}/#/queues")
    row = page.locator("tr[data-queue='task/ui-quick']")
    row.locator("button:has-text('Limit')").click()
    page.fill("dialog input[name=limit]", "-1")
    page.click("dialog button:has-text('Set limit')")
    page.wait_for_selector("dialog .error-text:has-text('whole number')")
    page.fill("dialog input[name=limit]", "3")
    page.click("dialog button:has-text('Set limit')")
    poll(lambda: row.locator("[data-field=limit]").inner_text().startswith("3"), what="limit")
    assert "override" in row.locator("[data-field=limit]").inner_text()
    row.locator("button:has-text('Limit')").click()
    page.click("dialog button:has-text('Reset to the code')")
    poll(lambda: "override" not in row.locator("[data-field=limit]").inner_text(), what="reset")

    # the environment switch: a banner on every page while it is paused
    page.click("#environment button:has-text('Pause environment')")
    page.wait_for_selector("#env-banner:not([hidden])")
    shot(page, dev, "environment-paused")
    page.goto(f"{dev.base}/#/runs")
    page.wait_for_selector("#env-banner:not([hidden])")
    page.click("#env-banner button:has-text('Resume environment')")
    page.wait_for_selector("#env-banner", state="hidden")


def test_run_triggered_from_the_test_form(page: Any, dev: Dev) -> None:
    page.goto(f"{dev.base}/#/tasks")
    page.wait_for_selector("tr[data-task='ui-order']")
    shot(page, dev, "tasks")
    page.click("tr[data-task='ui-order'] a:has-text('Test')")
    page.wait_for_selector("#test-form label[data-field=amount_cents]")
    # the server's schema errors land under the field
    page.fill("#test-form input[name=id]", "ord_1")
    page.fill("#test-form input[name=amount_cents]", "0")
    page.click("text=Trigger run")
    page.wait_for_selector("label[data-field=amount_cents] .field-error:not([hidden])")
    page.fill("#test-form input[name=amount_cents]", "250")
    page.check("#test-form input[name=express]")
    # the JSON tab shows what the form holds
    page.click("#test-form .tabs button:has-text('JSON')")
    text = page.locator("#test-form textarea[name=payload]").input_value()
    assert '"amount_cents": 250' in text and '"express": true' in text
    page.click("#test-form .tabs button:has-text('Form')")
    shot(page, dev, "task-form")
    page.click("text=Trigger run")
    page.wait_for_url(re.compile(r"#/runs/run_"))
    wait_status(page, "COMPLETED")
    run_id = page.url.rsplit("/", 1)[1]
    assert dev.run(run_id)["output"] == {"id": "ord_1", "total": 500}
    assert dev.run(run_id)["payload"]["express"] is True


def test_runs_list_is_live_filters_replays_and_skips_a_wait(page: Any, dev: Dev) -> None:
    page.goto(f"{dev.base}/#/runs?task=ui-quick")
    page.wait_for_selector("h1:has-text('Runs')")
    run_id = dev.trigger("ui-quick", {"n": 2}, idempotency_key="ui-key-2", tags=["ui:live"])
    page.wait_for_selector(f"tr[data-run='{run_id}'] .badge[data-status='COMPLETED']")
    shot(page, dev, "runs")
    # filters: status, tag; search by idempotency key, and by run id
    page.select_option("select[name=status]", "FAILED")
    page.wait_for_selector(".empty:has-text('No runs match')")
    page.goto(f"{dev.base}/#/runs")
    page.fill("input[name=search]", "ui-key-2")
    page.press("input[name=search]", "Enter")
    page.wait_for_url(re.compile(r"idempotency_key=ui-key-2"))
    rows = page.locator("table.runs tbody tr")
    poll(lambda: rows.count() == 1 and rows.get_attribute("data-run") == run_id, what="1 row")
    page.fill("input[name=search]", run_id)
    page.press("input[name=search]", "Enter")
    wait_status(page, "COMPLETED")
    # replay with an edited payload: a new run with it
    page.click("text=Replay…")
    page.fill("dialog textarea", '{"n": 3}')
    page.click("dialog button:has-text('Replay')")
    page.wait_for_url(re.compile(r"#/runs/run_(?!" + run_id[4:] + ")"))
    wait_status(page, "COMPLETED")
    replay_id = page.url.rsplit("/", 1)[1]
    assert dev.run(replay_id)["output"] == {"echo": {"n": 3}}
    assert dev.run(replay_id)["replayed_from"] == run_id
    # a run in a one-hour wait: skip it from its page
    sleeper = dev.trigger("ui-sleeper", {})
    page.goto(f"{dev.base}/#/runs/{sleeper}")
    wait_status(page, "WAITING")
    page.click("text=Skip wait")
    wait_status(page, "COMPLETED")
    assert dev.run(sleeper)["output"] == "woke up"
    # cancel: a waiting run, from its page
    waiting = dev.trigger("ui-approval", {"who": "bob"})
    page.goto(f"{dev.base}/#/runs/{waiting}")
    wait_status(page, "WAITING")
    page.click("text=Cancel run")
    page.click("dialog button:has-text('Cancel run')")
    wait_status(page, "CANCELED")
