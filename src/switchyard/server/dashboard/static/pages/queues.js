// Queues: live counts, throughput and queue wait; pause, resume, limit; the environment.

import { del, get, post, put, queuePath } from "../api.js";
import { badge, dialog, duration, empty, facts, fill, h, toast, when } from "../ui.js";

const REFRESH_MS = 2000;

async function act(promise, message) {
  try {
    await promise;
    toast(message);
  } catch (error) {
    toast(error.message, { error: true });
  }
}

async function setLimit(queue, reload) {
  const input = h("input", { type: "number", name: "limit", min: 0, max: 1000000, step: 1, value: queue.concurrency_limit ?? "", placeholder: "no limit" });
  const reset = queue.limit_override !== null && queue.limit_override !== undefined;
  const done = await dialog(
    `Concurrency limit of ${queue.name}`,
    h(
      "div",
      {},
      h("p", { class: "muted" }, `At most this many runs of the queue execute at once, across all workers. The code sets ${queue.base_limit ?? "no limit"}; this overrides it until reset.`),
      h("label", {}, h("span", {}, "Limit"), input),
      reset ? h("p", {}, h("button", { type: "button", class: "link", onclick: async () => { await act(del(`/api/v1/queues/${queuePath(queue.name)}/concurrency-limit`), "Limit reset to the code's"); input.closest("dialog").close(); await reload(); } }, `Reset to the code's limit (${queue.base_limit ?? "none"})`)) : null,
    ),
    {
      submitText: "Set limit",
      submit: async () => {
        const text = input.value.trim();
        const limit = text === "" ? null : Number(text);
        if (limit !== null && (!Number.isInteger(limit) || limit < 0)) throw new Error("The limit is a whole number, 0 or more (0 stops the queue), or empty for none");
        return put(`/api/v1/queues/${queuePath(queue.name)}/concurrency-limit`, { limit });
      },
    },
  );
  if (done) toast(`Limit of ${queue.name} is now ${done.concurrency_limit ?? "none"}`);
  await reload();
}

function queueTable(queues, reload) {
  if (!queues.length) return empty("No queues yet", "Each task has its own queue (task/<id>); shared ones come from ", h("code", {}, "queue(\"name\", concurrency_limit=N)"), ". Start a worker to register them.");
  return h(
    "table",
    { class: "queues" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", {}, "Queue"),
        h("th", {}, "State"),
        h("th", { class: "num" }, "Running"),
        h("th", { class: "num" }, "Limit"),
        h("th", { class: "num" }, "Queued"),
        h("th", { class: "num" }, "Waiting"),
        h("th", { class: "num hide-narrow" }, "Delayed"),
        h("th", { class: "num" }, "Started/min"),
        h("th", { class: "num", title: "Time from queued to started, last 5 minutes" }, "Wait p50 / p95"),
        h("th", { class: "num hide-narrow" }, "Oldest queued"),
        h("th", {}, ""),
      ),
    ),
    h(
      "tbody",
      {},
      queues.map((q) =>
        h(
          "tr",
          { dataset: { queue: q.name } },
          h("td", {}, h("a", { href: `#/runs?queue=${encodeURIComponent(q.name)}` }, q.name)),
          h("td", {}, q.paused ? badge("paused", "paused") : badge("active", "active")),
          h("td", { class: "num", dataset: { field: "running" } }, q.running),
          h("td", { class: "num", dataset: { field: "limit" } }, q.concurrency_limit ?? "–", q.limit_override !== null && q.limit_override !== undefined ? h("span", { class: "sub" }, `override (code: ${q.base_limit ?? "none"})`) : null),
          h("td", { class: "num", dataset: { field: "queued" } }, q.queued),
          h("td", { class: "num", dataset: { field: "waiting" } }, q.waiting),
          h("td", { class: "num hide-narrow" }, q.delayed),
          h("td", { class: "num" }, q.started_per_minute.toFixed(1)),
          h("td", { class: "num" }, q.wait_p50 === null ? "–" : `${duration(q.wait_p50)} / ${duration(q.wait_p95)}`),
          h("td", { class: "num hide-narrow" }, q.oldest_queued_age === null ? "–" : duration(q.oldest_queued_age)),
          h(
            "td",
            { style: "white-space:nowrap" },
            q.paused
              ? h("button", { type: "button", class: "small", onclick: async () => { await act(post(`/api/v1/queues/${queuePath(q.name)}/resume`), `Resumed ${q.name}`); await reload(); } }, "Resume")
              : h("button", { type: "button", class: "small", onclick: async () => { await act(post(`/api/v1/queues/${queuePath(q.name)}/pause`), `Paused ${q.name}: running runs finish, queued ones wait`); await reload(); } }, "Pause"),
            " ",
            h("button", { type: "button", class: "small", onclick: () => setLimit(q, reload) }, "Limit…"),
          ),
        ),
      ),
    ),
  );
}

function environmentCard(env, ctx, reload) {
  return h(
    "div",
    { class: "card", id: "environment" },
    h(
      "div",
      { class: "page-head", style: "margin:0 0 10px" },
      h("h2", { style: "margin:0" }, `Environment “${env.name}”`),
      env.paused ? badge("paused", "paused") : badge("active", "active"),
      h(
        "div",
        { class: "actions" },
        h(
          "button",
          {
            type: "button",
            class: env.paused ? "primary" : "danger",
            role: "switch",
            "aria-checked": String(env.paused),
            onclick: async () => {
              await ctx.setEnvironmentPaused(!env.paused);
              await reload();
            },
          },
          env.paused ? "Resume environment" : "Pause environment",
        ),
      ),
    ),
    facts([
      ["Running", env.running],
      ["Concurrency limit", env.concurrency_limit ?? "none"],
      ["Workers", env.workers.length ? env.workers.map((w) => h("div", { class: "mono" }, `${w.hostname} · pid ${w.pid} · ${w.running} running · seen `, when(w.heartbeat_at))) : h("span", { class: "muted" }, "none seen: start one with switchyard worker")],
    ]),
  );
}

export async function render(main, params, ctx) {
  const envBox = h("div");
  const body = h("div", { class: "card flush" });
  fill(main, h("div", { class: "page-head" }, h("h1", {}, "Queues"), h("span", { class: "live" }, "Live"), h("span", { class: "muted" }, "Throughput and queue wait over the last 5 minutes")), envBox, body);
  let last = null;
  async function load() {
    const [env, queues] = await Promise.all([ctx.environment(), get("/api/v1/queues?stats=true")]);
    if (!ctx.current()) return;
    const snapshot = JSON.stringify([env, queues]);
    if (snapshot === last) return;
    last = snapshot;
    fill(envBox, environmentCard(env, ctx, load));
    fill(body, queueTable(queues.data, load));
  }
  await load();
  ctx.every(REFRESH_MS, load);
}
