// Tokens: the list with filters, and a token page to complete or time it out.

import { get, post, query } from "../api.js";
import { badge, bindFilters, chips, dialog, empty, errorBlock, facts, fill, h, json, jsonEditor, runLink, toast, when } from "../ui.js";

const STATUSES = [
  ["", "Any status"],
  ["PENDING", "pending"],
  ["COMPLETED", "completed"],
  ["TIMED_OUT", "timed out"],
];
const PERIODS = { "": null, "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
const REFRESH_MS = 2000;

export async function render(main, params, ctx) {
  const form = h(
    "form",
    { class: "filters", role: "search" },
    h("label", {}, h("span", {}, "Token id or idempotency key"), h("input", { type: "search", name: "search", placeholder: "waitpoint_… or a key", value: params.get("idempotency_key") || "" })),
    h("label", {}, h("span", {}, "Status"), h("select", { name: "status" }, STATUSES.map(([v, t]) => h("option", { value: v, selected: v === (params.get("status") || "") }, t)))),
    h("label", {}, h("span", {}, "Tag"), h("input", { type: "text", name: "tag", value: params.get("tag") || "", size: 14 })),
    h(
      "label",
      {},
      h("span", {}, "Created"),
      h("select", { name: "period" }, Object.keys(PERIODS).map((p) => h("option", { value: p, selected: p === (params.get("period") || "") }, p ? `Last ${p}` : "Any time"))),
    ),
    h("button", { type: "submit" }, "Apply"),
    params.toString() ? h("a", { href: "#/tokens", class: "button" }, "Clear") : null,
  );
  bindFilters(form, ctx, { base: "#/tokens", idPrefix: "waitpoint_", names: ["status", "tag", "period"], params });
  const body = h("div", { class: "card flush" });
  fill(main, h("div", { class: "page-head" }, h("h1", {}, "Tokens"), h("span", { class: "live" }, "Live")), form, body);

  const period = PERIODS[params.get("period") || ""];
  const filters = {
    status: params.get("status"),
    tag: params.get("tag"),
    idempotency_key: params.get("idempotency_key"),
    created_after: period ? new Date(Date.now() - period * 1000).toISOString() : null,
    limit: 100,
  };
  async function load() {
    const page = await get(`/api/v1/waitpoints/tokens${query(filters)}`);
    if (!ctx.current()) return;
    if (!page.data.length) {
      const filtered = params.toString() !== "";
      return fill(
        body,
        filtered
          ? empty("No tokens match these filters", h("a", { href: "#/tokens" }, "Clear the filters"), ".")
          : empty("No tokens yet", "A task makes one with ", h("code", {}, "await wait.create_token(timeout=\"1h\")"), " and waits for it with ", h("code", {}, "wait.for_token(token)"), "."),
      );
    }
    fill(
      body,
      h(
        "table",
        { class: "tokens" },
        h("thead", {}, h("tr", {}, h("th", {}, "Token"), h("th", {}, "Status"), h("th", {}, "Created"), h("th", {}, "Times out"), h("th", {}, "Tags"), h("th", {}, "Created by"))),
        h(
          "tbody",
          {},
          page.data.map((t) =>
            h(
              "tr",
              { dataset: { token: t.id } },
              h("td", {}, h("a", { href: `#/tokens/${t.id}`, class: "mono" }, t.id)),
              h("td", {}, badge(t.status)),
              h("td", {}, when(t.created_at)),
              h("td", {}, t.status === "PENDING" ? when(t.timeout_at) : h("span", { class: "muted" }, "–")),
              h("td", {}, chips(t.tags, (tag) => `#/tokens?tag=${encodeURIComponent(tag)}`)),
              h("td", {}, runLink(t.created_by_run_id)),
            ),
          ),
        ),
      ),
    );
  }
  await load();
  ctx.every(REFRESH_MS, load);
}

export async function renderOne(main, tokenId, params, ctx) {
  const head = h("div", { class: "page-head" });
  const details = h("div", { class: "card" });
  const action = h("div", { class: "card" });
  fill(main, head, h("div", { class: "grid" }, details, action));
  const editor = jsonEditor({ value: { approved: true }, maxBytes: ctx.info.max_payload_bytes, label: "Output", rows: 10, name: "output" });
  let shown = null;

  async function complete(event) {
    event.preventDefault();
    let data;
    try {
      data = editor.value();
    } catch (error) {
      return toast(error.message, { error: true });
    }
    try {
      const result = await post(`/api/v1/waitpoints/tokens/${tokenId}/complete`, { data: data ?? null });
      toast(result.already_completed ? "The token was already finished: nothing changed" : "Token completed: waiting runs continue");
    } catch (error) {
      toast(error.message, { error: true });
    }
    await load();
  }

  async function timeOut() {
    const done = await dialog("Time this token out?", h("p", {}, "Runs waiting on it continue with a timed-out result (", h("code", {}, "result.ok == False"), ")."), {
      submitText: "Time out",
      danger: true,
      submit: () => post(`/api/v1/waitpoints/tokens/${tokenId}/timeout`),
    });
    if (done) toast("Token timed out");
    await load();
  }

  async function load() {
    const token = await get(`/api/v1/waitpoints/tokens/${encodeURIComponent(tokenId)}`);
    if (!ctx.current()) return;
    fill(head, h("h1", {}, h("span", { class: "mono" }, token.id), badge(token.status)));
    fill(
      details,
      h("h2", {}, "Token"),
      facts([
        ["Created", when(token.created_at)],
        ["Times out", token.timeout_at ? when(token.timeout_at) : "never"],
        ["Finished", when(token.completed_at)],
        ["Tags", chips(token.tags, (tag) => `#/tokens?tag=${encodeURIComponent(tag)}`)],
        ["Idempotency key", token.idempotency_key ? h("code", {}, token.idempotency_key.replace(/^global:/, "")) : null],
        ["Created by", runLink(token.created_by_run_id)],
        [
          "Callback URL",
          h("span", {}, h("code", { class: "url" }, token.url), " ", h("button", { type: "button", class: "small", onclick: () => navigator.clipboard?.writeText(token.url).then(() => toast("Copied")) }, "Copy")),
        ],
      ]),
    );
    if (shown === token.status) return; // keep what is being typed in the editor
    shown = token.status;
    if (token.status === "PENDING") {
      fill(
        action,
        h("h2", {}, "Complete it"),
        h("p", { class: "muted" }, "This JSON becomes the token's output: the waiting run gets it from ", h("code", {}, "wait.for_token"), "."),
        h("form", { onsubmit: complete }, editor.element, h("div", { style: "display:flex; gap:8px; margin-top:10px" }, h("button", { type: "submit", class: "primary" }, "Complete token"), h("button", { type: "button", class: "danger", onclick: timeOut }, "Time out now"))),
      );
    } else {
      fill(action, h("h2", {}, token.status === "COMPLETED" ? "Output" : "Result"), token.error ? errorBlock(token.error) : json(token.output));
    }
  }
  await load();
  ctx.every(REFRESH_MS, load);
}
