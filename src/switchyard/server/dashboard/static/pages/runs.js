// Runs: the list, live, with filters in the URL (#/runs?status=FAILED&task=x).

import { get, query } from "../api.js";
import { badge, between, bindFilters, chips, duration, empty, fill, h, runLink, when } from "../ui.js";

const STATUSES = ["QUEUED", "DELAYED", "EXECUTING", "WAITING", "COMPLETED", "FAILED", "CANCELED", "CRASHED", "EXPIRED", "TIMED_OUT", "SYSTEM_FAILURE"];
const GROUPS = {
  active: ["QUEUED", "DELAYED", "EXECUTING", "WAITING"],
  problems: ["FAILED", "CRASHED", "TIMED_OUT", "EXPIRED", "SYSTEM_FAILURE"],
};
const PERIODS = [
  ["", "Any time"],
  ["15m", "Last 15 minutes"],
  ["1h", "Last hour"],
  ["24h", "Last 24 hours"],
  ["7d", "Last 7 days"],
  ["30d", "Last 30 days"],
];
const FILTERS = ["status", "task", "tag", "queue", "period", "idempotency_key", "parent_run_id", "batch_id"];
const REFRESH_MS = 2000;

function select(name, value, options) {
  return h("select", { name, "aria-label": name }, options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
}

/** The API's filters for what the URL asks for. */
function apiFilters(params) {
  const filters = {};
  for (const name of FILTERS) {
    const value = params.get(name);
    if (value) filters[name] = GROUPS[value] ? GROUPS[value].join(",") : value;
  }
  return filters;
}

export function runRows(runs, { showTask = true } = {}) {
  return runs.map((run) =>
    h(
      "tr",
      { dataset: { run: run.id } },
      h("td", {}, runLink(run.id), run.idempotency_key ? h("span", { class: "sub" }, `key ${run.idempotency_key.replace(/^global:/, "")}`) : null),
      showTask ? h("td", {}, h("a", { href: `#/tasks/${encodeURIComponent(run.task_id)}` }, run.task_id)) : null,
      h("td", {}, badge(run.status)),
      h("td", { class: "hide-narrow" }, run.attempt_count || "–"),
      h("td", {}, when(run.created_at)),
      h("td", { class: "num" }, run.started_at ? duration(between(run.started_at, run.finished_at)) : "–"),
      h("td", { class: "hide-narrow" }, chips(run.tags, (t) => `#/runs?tag=${encodeURIComponent(t)}`)),
    ),
  );
}

export function runTable(runs, options = {}) {
  const showTask = options.showTask !== false;
  return h(
    "table",
    { class: "runs" },
    h("thead", {}, h("tr", {}, h("th", {}, "Run"), showTask ? h("th", {}, "Task") : null, h("th", {}, "Status"), h("th", { class: "hide-narrow" }, "Attempts"), h("th", {}, "Created"), h("th", { class: "num" }, "Duration"), h("th", { class: "hide-narrow" }, "Tags"))),
    h("tbody", {}, runRows(runs, options)),
  );
}

export async function render(main, params, ctx) {
  const [tasks, queues] = await Promise.all([get("/api/v1/tasks"), get("/api/v1/queues")]);
  const status = params.get("status") || "";
  const form = h(
    "form",
    { class: "filters", role: "search" },
    h("label", {}, h("span", {}, "Run id or idempotency key"), h("input", { type: "search", name: "search", placeholder: "run_… or a key", value: params.get("idempotency_key") || "" })),
    h(
      "label",
      {},
      h("span", {}, "Status"),
      select("status", status, [["", "Any status"], ["active", "Active (not finished)"], ["problems", "Failed or crashed"], ...STATUSES.map((s) => [s, s.replace("_", " ").toLowerCase()])]),
    ),
    h("label", {}, h("span", {}, "Task"), select("task", params.get("task") || "", [["", "Any task"], ...tasks.data.map((t) => [t.id, t.id])])),
    h("label", {}, h("span", {}, "Queue"), select("queue", params.get("queue") || "", [["", "Any queue"], ...queues.data.map((q) => [q.name, q.name])])),
    h("label", {}, h("span", {}, "Tag"), h("input", { type: "text", name: "tag", placeholder: "user:42", value: params.get("tag") || "", size: 12 })),
    h("label", {}, h("span", {}, "Created"), select("period", params.get("period") || "", PERIODS)),
    h("button", { type: "submit" }, "Apply"),
    params.toString() ? h("a", { href: "#/runs", class: "button" }, "Clear") : null,
  );
  bindFilters(form, ctx, {
    base: "#/runs",
    idPrefix: "run_",
    names: ["status", "task", "queue", "tag", "period"],
    keep: ["parent_run_id", "batch_id"],
    params,
  });

  const live = h("span", { class: "live" }, "Live");
  const body = h("div", { class: "card flush" });
  const pager = h("div", { class: "pager" });
  const scope = [params.get("parent_run_id") && `children of ${params.get("parent_run_id")}`, params.get("batch_id") && `batch ${params.get("batch_id")}`].filter(Boolean);
  fill(main, h("div", { class: "page-head" }, h("h1", {}, "Runs", scope.length ? h("span", { class: "muted" }, `· ${scope.join(", ")}`) : null), live), form, body, pager);

  const filters = apiFilters(params);
  let cursors = [];
  let cursor = null;

  async function load() {
    const page = await get(`/api/v1/runs${query({ ...filters, limit: 50, cursor })}`);
    if (!ctx.current()) return;
    const filtered = Object.keys(filters).length > 0;
    fill(
      body,
      page.data.length
        ? runTable(page.data)
        : filtered
          ? empty("No runs match these filters", "Change or ", h("a", { href: "#/runs" }, "clear the filters"), ".")
          : empty("No runs yet", "Trigger one from ", h("a", { href: "#/tasks" }, "Tasks"), ", with ", h("code", {}, "switchyard trigger <task>"), ", or from your code with ", h("code", {}, "await my_task.trigger(payload)"), "."),
    );
    fill(
      pager,
      cursors.length ? h("button", { type: "button", onclick: () => move(cursors.pop(), false) }, "← Newer") : null,
      cursors.length ? h("a", { href: "#", onclick: (e) => { e.preventDefault(); cursors = []; move(null, false); } }, "Back to the newest (live)") : null,
      page.next_cursor ? h("button", { type: "button", onclick: () => move(page.next_cursor, true) }, "Older →") : null,
    );
    live.classList.toggle("off", cursor !== null);
    live.textContent = cursor === null ? "Live" : "Paused on an older page";
  }
  async function move(next, forward) {
    if (forward) cursors.push(cursor);
    cursor = next;
    await load();
  }
  await load();
  ctx.every(REFRESH_MS, async () => {
    if (cursor === null) await load();
  });
}
