// Small DOM helpers shared by the pages: elements, times, statuses, JSON, dialogs.

/** An element: h("a", {href: "#/runs"}, "Runs"). Attributes starting with "on" are listeners. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "class") {
      element.className = value;
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (name in element && typeof value !== "string") {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? "" : value);
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

// -- time --------------------------------------------------------------------------------
const UNITS = [
  ["d", 86400],
  ["h", 3600],
  ["m", 60],
  ["s", 1],
];

/** "4m 10s", "2h", "350 ms" for a number of seconds. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const parts = [];
  let rest = Math.round(seconds);
  for (const [unit, size] of UNITS) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join(" ");
}

function compact(seconds) {
  for (const [unit, size] of UNITS) if (seconds >= size) return `${Math.floor(seconds / size)}${unit}`;
  return "0s";
}

/** "3m ago" / "in 2h" for an ISO time, with the exact time as a tooltip. */
export function when(iso) {
  if (!iso) return h("span", { class: "muted" }, "–");
  const moment = new Date(iso);
  const delta = (moment.getTime() - Date.now()) / 1000;
  let text;
  if (Math.abs(delta) < 5) text = "just now";
  else if (delta < 0) text = `${compact(-delta)} ago`;
  else text = `in ${compact(delta)}`;
  return h("time", { datetime: iso, title: moment.toLocaleString() }, text);
}

/** Seconds between two ISO times (or until now), or null. */
export function between(start, end) {
  if (!start) return null;
  const stop = end ? new Date(end) : new Date();
  return (stop.getTime() - new Date(start).getTime()) / 1000;
}

// -- values ------------------------------------------------------------------------------
export function badge(status, extra = "") {
  const text = String(status).replace("_", " ").toLowerCase();
  return h("span", { class: `badge ${status} ${extra}`.trim(), dataset: { status } }, text);
}

export function chips(values, href) {
  if (!values || values.length === 0) return h("span", { class: "muted" }, "–");
  return values.map((v) => (href ? h("a", { class: "chip", href: href(v) }, v) : h("span", { class: "chip" }, v)));
}

export function json(value, { error = false } = {}) {
  const text = value === undefined ? "" : JSON.stringify(value, null, 2);
  return h("pre", { class: error ? "json error" : "json" }, text ?? "null");
}

export function errorBlock(error) {
  if (!error) return h("span", { class: "muted" }, "–");
  const head = [error.type, error.message].filter(Boolean).join(": ") || JSON.stringify(error);
  return h("div", {}, h("pre", { class: "json error" }, head), error.stack ? h("details", {}, h("summary", {}, "Stack trace"), h("pre", { class: "json" }, error.stack)) : null);
}

export function runLink(id) {
  return id ? h("a", { href: `#/runs/${id}`, class: "mono" }, id) : h("span", { class: "muted" }, "–");
}

export function empty(title, ...hint) {
  return h("div", { class: "empty" }, h("strong", {}, title), h("div", {}, ...hint));
}

export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(Boolean).map(([name, value]) => [h("dt", {}, name), h("dd", {}, value ?? "–")]));
}

// -- filters ----------------------------------------------------------------------------
/**
 * Make a filter form navigate: submitting it (or changing a select) goes to `base` with
 * the non-empty `names` fields (and the `keep` ones from the current URL) as the query.
 * The "search" field opens `base/<id>` when it starts with `idPrefix`, else filters by
 * idempotency key.
 */
export function bindFilters(form, ctx, { base, idPrefix, names, keep = [], params }) {
  function apply(event) {
    event?.preventDefault();
    const data = new FormData(form);
    const search = String(data.get("search") || "").trim();
    if (search.startsWith(idPrefix)) return ctx.go(`${base}/${encodeURIComponent(search)}`);
    const next = new URLSearchParams();
    if (search) next.set("idempotency_key", search);
    for (const name of names) {
      const value = String(data.get(name) || "").trim();
      if (value) next.set(name, value);
    }
    for (const name of keep) if (params.get(name)) next.set(name, params.get(name));
    ctx.go(`${base}${next.toString() ? `?${next}` : ""}`);
  }
  form.addEventListener("submit", apply);
  for (const element of form.querySelectorAll("select")) element.addEventListener("change", apply);
}

// -- feedback ----------------------------------------------------------------------------
export function toast(message, { error = false } = {}) {
  const box = document.getElementById("toasts");
  const item = h("div", { class: error ? "toast error" : "toast", role: "status" }, message);
  box.append(item);
  setTimeout(() => item.remove(), error ? 8000 : 4000);
}

/** A modal dialog; resolves to what `submit` returned, or null when dismissed. */
export function dialog(title, body, { submitText = "Save", danger = false, submit }) {
  return new Promise((resolve) => {
    const problem = h("p", { class: "error-text", hidden: true });
    const ok = h("button", { type: "submit", class: danger ? "danger solid" : "primary" }, submitText);
    const cancel = h("button", { type: "button" }, "Cancel");
    const form = h("form", { method: "dialog", novalidate: true }, h("h2", {}, title), body, problem, h("div", { class: "buttons" }, cancel, ok));
    const box = h("dialog", {}, form);
    let result = null;
    cancel.addEventListener("click", () => box.close());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      ok.disabled = true;
      problem.hidden = true;
      try {
        result = await submit();
        box.close();
      } catch (error) {
        problem.textContent = error.message;
        problem.hidden = false;
      } finally {
        ok.disabled = false;
      }
    });
    box.addEventListener("close", () => {
      box.remove();
      resolve(result);
    });
    document.body.append(box);
    box.showModal();
  });
}

// -- JSON editor -------------------------------------------------------------------------
/**
 * A textarea that checks its JSON as you type: valid or not, and under `maxBytes`.
 * `editor.value()` returns the parsed value or throws with what is wrong.
 */
export function jsonEditor({ value, maxBytes, label = "JSON", rows = 8, name = "json" }) {
  const area = h("textarea", { rows, spellcheck: false, name, "aria-label": label });
  area.value = value === undefined ? "" : JSON.stringify(value, null, 2);
  const status = h("div", { class: "status" });
  const root = h("div", { class: "editor" }, area, status);
  const encoder = new TextEncoder();
  function check() {
    const text = area.value.trim();
    const size = encoder.encode(text).length;
    let problem = null;
    if (text) {
      try {
        JSON.parse(text);
      } catch (error) {
        problem = `Not valid JSON: ${error.message}`;
      }
    }
    if (!problem && maxBytes && size > maxBytes) {
      problem = `Too large: ${size.toLocaleString()} bytes, the limit is ${maxBytes.toLocaleString()}`;
    }
    root.classList.toggle("invalid", Boolean(problem));
    status.classList.toggle("bad", Boolean(problem));
    status.textContent = problem || `Valid JSON · ${size.toLocaleString()} bytes${maxBytes ? ` of ${maxBytes.toLocaleString()}` : ""}`;
    return problem;
  }
  area.addEventListener("input", check);
  check();
  return {
    element: root,
    textarea: area,
    /** The parsed value (undefined when empty); throws when invalid or too large. */
    value() {
      const problem = check();
      if (problem) throw new Error(problem);
      const text = area.value.trim();
      return text ? JSON.parse(text) : undefined;
    },
    set(next) {
      area.value = JSON.stringify(next, null, 2);
      check();
    },
  };
}
