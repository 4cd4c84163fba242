// One run: payload, output or error, attempts, waitpoints, family; cancel, replay, skip wait.

import { get, post, query } from "../api.js";
import { badge, between, chips, dialog, duration, empty, errorBlock, facts, fill, h, json, jsonEditor, runLink, toast, when } from "../ui.js";
import { runTable } from "./runs.js";

const REFRESH_MS = 1000;
const TIME_WAITS = ["DURATION", "DATETIME"];

function waitpointTarget(w) {
  if (w.kind === "TOKEN") return h("a", { href: `#/tokens/${w.id}`, class: "mono" }, w.id);
  if (w.kind === "RUN" && w.child_run_id) return h("span", {}, "child ", runLink(w.child_run_id));
  if (w.kind === "BATCH" && w.batch_id) return h("a", { href: `#/runs?batch_id=${encodeURIComponent(w.batch_id)}` }, `batch of ${w.batch_total}`);
  if (w.kind === "DURATION" || w.kind === "DATETIME") return h("span", {}, "until ", when(w.complete_after));
  return h("span", { class: "mono" }, w.id);
}

function waitpointTable(waitpoints) {
  if (!waitpoints.length) return empty("No waits", "This run has not called ", h("code", {}, "wait.for_"), ", ", h("code", {}, "wait.for_token"), " or ", h("code", {}, "trigger_and_wait"), ".");
  return h(
    "table",
    { class: "waitpoints" },
    h("thead", {}, h("tr", {}, h("th", {}, "Kind"), h("th", {}, "Waited on"), h("th", {}, "Status"), h("th", {}, "Created"), h("th", {}, "Completed"), h("th", {}, "Output"))),
    h(
      "tbody",
      {},
      waitpoints.map((w) =>
        h(
          "tr",
          { dataset: { waitpoint: w.id } },
          h("td", {}, w.kind.toLowerCase()),
          h("td", {}, waitpointTarget(w), w.timeout_at && w.status === "PENDING" ? h("span", { class: "sub" }, "times out ", when(w.timeout_at)) : null),
          h("td", {}, badge(w.status)),
          h("td", {}, when(w.created_at)),
          h("td", {}, when(w.completed_at)),
          h("td", {}, w.error ? errorBlock(w.error) : w.output === null || w.output === undefined ? h("span", { class: "muted" }, "–") : json(w.output)),
        ),
      ),
    ),
  );
}

function attemptTable(attempts, run) {
  if (!attempts.length) return empty("No attempts yet", "The run starts when a worker with its task has a free slot in its queue.");
  return h(
    "table",
    { class: "attempts" },
    h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "Status"), h("th", {}, "Worker"), h("th", {}, "Started"), h("th", { class: "num" }, "Duration"), h("th", {}, "Error"))),
    h(
      "tbody",
      {},
      attempts.map((a) =>
        h(
          "tr",
          {},
          h("td", {}, a.number),
          // A waiting run's attempt is suspended (its slot is free), not executing.
          h("td", {}, run.status === "WAITING" && a.status === "EXECUTING" ? badge("WAITING") : badge(a.status)),
          h("td", { class: "mono" }, a.worker_id || "–"),
          h("td", {}, when(a.started_at)),
          h("td", { class: "num" }, duration(between(a.started_at, a.finished_at))),
          h("td", {}, a.error ? h("span", { title: a.error.stack || "" }, [a.error.type, a.error.message].filter(Boolean).join(": ")) : "–"),
        ),
      ),
    ),
  );
}

async function replay(run, ctx) {
  const editor = jsonEditor({ value: run.payload, maxBytes: ctx.info.max_payload_bytes, label: "Payload", rows: 12 });
  const created = await dialog(
    `Replay ${run.task_id}`,
    h("div", {}, h("p", { class: "muted" }, "A new run of the same task with the same options. Edit the payload if you need to."), editor.element),
    {
      submitText: "Replay",
      submit: async () => post(`/api/v1/runs/${run.id}/replay`, { payload: editor.value() ?? null }),
    },
  );
  if (created) {
    toast(`Replayed as ${created.id}`);
    ctx.go(`#/runs/${created.id}`);
  }
}

async function cancel(run, refresh) {
  const done = await dialog("Cancel this run?", h("p", {}, `${run.id} and its unfinished child runs stop; a running attempt is interrupted.`), {
    submitText: "Cancel run",
    danger: true,
    submit: () => post(`/api/v1/runs/${run.id}/cancel`),
  });
  if (done) {
    toast(`Canceled ${done.canceled.length} run(s)`);
    await refresh();
  }
}

async function skipWait(run, refresh) {
  try {
    const result = await post(`/api/v1/runs/${run.id}/skip-wait`);
    toast(`Skipped ${result.skipped.length} wait(s): the run continues now`);
  } catch (error) {
    toast(error.message, { error: true });
  }
  await refresh();
}

export async function render(main, runId, params, ctx) {
  const head = h("div", { class: "page-head" });
  const summary = h("div", { class: "grid" });
  const io = h("div", { class: "grid" });
  const attempts = h("div", { class: "card flush" });
  const waits = h("div", { class: "card flush" });
  const children = h("div", { class: "card flush" });
  fill(
    main,
    head,
    summary,
    io,
    h("h2", {}, "Attempts"),
    attempts,
    h("h2", {}, "Waitpoints"),
    waits,
    h("h2", {}, "Child runs"),
    children,
  );
  let last = null;

  async function load() {
    const [run, waitpoints, kids] = await Promise.all([
      get(`/api/v1/runs/${encodeURIComponent(runId)}`),
      get(`/api/v1/runs/${encodeURIComponent(runId)}/waitpoints`),
      get(`/api/v1/runs${query({ parent_run_id: runId, limit: 100 })}`),
    ]);
    if (!ctx.current()) return;
    const snapshot = JSON.stringify([run, waitpoints, kids]);
    if (snapshot === last) return; // nothing changed: keep what the person is reading
    last = snapshot;
    const skippable = run.status === "WAITING" && waitpoints.data.some((w) => TIME_WAITS.includes(w.kind) && w.status === "PENDING");
    fill(
      head,
      h("h1", {}, h("span", { class: "mono" }, run.id), badge(run.status)),
      h(
        "div",
        { class: "actions" },
        skippable ? h("button", { type: "button", onclick: () => skipWait(run, load) }, "Skip wait") : null,
        h("button", { type: "button", onclick: () => replay(run, ctx) }, "Replay…"),
        run.is_final ? null : h("button", { type: "button", class: "danger", onclick: () => cancel(run, load) }, "Cancel run"),
      ),
    );
    fill(
      summary,
      h(
        "div",
        { class: "card" },
        facts([
          ["Task", h("a", { href: `#/tasks/${encodeURIComponent(run.task_id)}` }, run.task_id)],
          ["Queue", h("a", { href: `#/runs?queue=${encodeURIComponent(run.queue)}` }, run.queue)],
          ["Created", when(run.created_at)],
          ["Started", when(run.started_at)],
          ["Finished", when(run.finished_at)],
          ["Duration", run.started_at ? duration(between(run.started_at, run.finished_at)) : "–"],
          run.delay_until && !run.started_at ? ["Delayed until", when(run.delay_until)] : null,
          run.expires_at ? ["Expires", when(run.expires_at)] : null,
        ]),
      ),
      h(
        "div",
        { class: "card" },
        facts([
          ["Attempts", `${run.attempt_count} of ${run.retry?.max_attempts ?? "?"}`],
          ["Priority", run.priority || "0"],
          ["Tags", chips(run.tags, (t) => `#/runs?tag=${encodeURIComponent(t)}`)],
          ["Idempotency key", run.idempotency_key ? h("code", {}, run.idempotency_key.replace(/^global:/, "")) : null],
          run.concurrency_key ? ["Concurrency key", h("code", {}, run.concurrency_key)] : null,
          ["Parent", run.parent_run_id ? runLink(run.parent_run_id) : null],
          run.root_run_id && run.root_run_id !== run.parent_run_id && run.root_run_id !== run.id ? ["Root", runLink(run.root_run_id)] : null,
          run.batch_id ? ["Batch", h("a", { href: `#/runs?batch_id=${encodeURIComponent(run.batch_id)}` }, run.batch_id)] : null,
          run.replayed_from ? ["Replay of", runLink(run.replayed_from)] : null,
        ]),
      ),
    );
    fill(
      io,
      h("div", { class: "card" }, h("h2", {}, "Payload"), json(run.payload)),
      h("div", { class: "card" }, run.error ? [h("h2", {}, "Error"), errorBlock(run.error)] : [h("h2", {}, "Output"), run.is_final ? json(run.output) : h("p", { class: "muted" }, "Not finished yet.")]),
      h("div", { class: "card" }, h("h2", {}, "Metadata"), Object.keys(run.metadata || {}).length ? json(run.metadata) : h("p", { class: "muted" }, "None. A task sets it with ctx.metadata.")),
    );
    fill(attempts, attemptTable(run.attempts, run));
    fill(waits, waitpointTable(waitpoints.data));
    fill(children, kids.data.length ? runTable(kids.data) : empty("No child runs", "Runs this one triggers (trigger, trigger_and_wait, batches) show up here."));
  }
  await load();
  ctx.every(REFRESH_MS, load);
}
