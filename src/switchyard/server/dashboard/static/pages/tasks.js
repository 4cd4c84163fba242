// Tasks: the list, and a task page with a test form made from its payload's JSON Schema.

import { get, post, query } from "../api.js";
import { duration, empty, facts, fill, h, jsonEditor, toast } from "../ui.js";
import { runTable } from "./runs.js";

export async function render(main, params, ctx) {
  const tasks = await get("/api/v1/tasks");
  fill(
    main,
    h("div", { class: "page-head" }, h("h1", {}, "Tasks")),
    h(
      "div",
      { class: "card flush" },
      tasks.data.length
        ? h(
            "table",
            { class: "tasks" },
            h("thead", {}, h("tr", {}, h("th", {}, "Task"), h("th", {}, "Queue"), h("th", {}, "Payload"), h("th", { class: "hide-narrow" }, "Retries"), h("th", { class: "hide-narrow" }, "Max duration"), h("th", {}, ""))),
            h(
              "tbody",
              {},
              tasks.data.map((t) =>
                h(
                  "tr",
                  { dataset: { task: t.id } },
                  h("td", {}, h("a", { href: `#/tasks/${encodeURIComponent(t.id)}` }, t.id)),
                  h("td", {}, h("a", { href: `#/runs?queue=${encodeURIComponent(t.queue)}` }, t.queue)),
                  h("td", {}, t.payload_schema ? "schema" : h("span", { class: "muted" }, "any JSON")),
                  h("td", { class: "hide-narrow" }, t.retry?.max_attempts ? `${t.retry.max_attempts} attempts` : "default"),
                  h("td", { class: "hide-narrow" }, t.max_duration ? duration(t.max_duration) : "–"),
                  h("td", {}, h("a", { href: `#/tasks/${encodeURIComponent(t.id)}`, class: "button" }, "Test")),
                ),
              ),
            ),
          )
        : empty("No tasks registered", "Tasks appear when a worker starts: ", h("code", {}, "switchyard dev"), " or ", h("code", {}, "switchyard worker --app tasks"), "."),
    ),
  );
}

// -- a form from a JSON Schema -------------------------------------------------------------
function resolve(schema, root) {
  let current = schema || {};
  for (let depth = 0; current.$ref && depth < 10; depth += 1) {
    const path = current.$ref.replace(/^#\//, "").split("/");
    current = path.reduce((node, part) => (node ? node[part] : undefined), root) || {};
  }
  // Optional[X] is anyOf [X, null]: the form shows X, and leaving it empty sends nothing.
  if (Array.isArray(current.anyOf)) {
    const options = current.anyOf.filter((s) => s.type !== "null");
    if (options.length === 1) return { ...resolve(options[0], root), title: current.title, description: current.description, default: current.default };
  }
  return current;
}

function field(name, spec, required, value) {
  const label = h("span", {}, spec.title || name, required ? h("span", { class: "required" }, " *") : null);
  const hint = spec.description ? h("div", { class: "muted", style: "font-size:12px" }, spec.description) : null;
  let input;
  let read;
  let write;
  if (Array.isArray(spec.enum)) {
    input = h("select", { name }, required ? null : h("option", { value: "" }, "–"), spec.enum.map((v) => h("option", { value: JSON.stringify(v) }, String(v))));
    read = () => (input.value === "" ? undefined : JSON.parse(input.value));
    write = (v) => (input.value = v === undefined ? "" : JSON.stringify(v));
  } else if (spec.type === "boolean") {
    input = h("input", { type: "checkbox", name });
    read = () => input.checked;
    write = (v) => (input.checked = Boolean(v));
  } else if (spec.type === "integer" || spec.type === "number") {
    input = h("input", { type: "number", name, step: spec.type === "integer" ? 1 : "any", min: spec.minimum ?? spec.exclusiveMinimum, max: spec.maximum ?? spec.exclusiveMaximum });
    read = () => (input.value === "" ? undefined : Number(input.value));
    write = (v) => (input.value = v === undefined || v === null ? "" : String(v));
  } else if (spec.type === "string") {
    input = h("input", { type: "text", name, placeholder: spec.format || "" });
    read = () => (input.value === "" ? undefined : input.value);
    write = (v) => (input.value = v === undefined || v === null ? "" : String(v));
  } else {
    input = h("textarea", { name, rows: 3, spellcheck: false, class: "mono", placeholder: "JSON" });
    read = () => {
      const text = input.value.trim();
      if (!text) return undefined;
      try {
        return JSON.parse(text);
      } catch (error) {
        throw new Error(`${name}: not valid JSON (${error.message})`);
      }
    };
    write = (v) => (input.value = v === undefined ? "" : JSON.stringify(v, null, 2));
  }
  write(value !== undefined ? value : spec.default);
  const problem = h("div", { class: "field-error", hidden: true });
  return { name, required, element: h("label", { dataset: { field: name } }, label, input, hint, problem), read, write, problem };
}

function schemaForm(schema) {
  const root = resolve(schema, schema);
  if (root.type !== "object" || !root.properties) return null;
  const required = new Set(root.required || []);
  const fields = Object.entries(root.properties).map(([name, spec]) => field(name, resolve(spec, schema), required.has(name)));
  return {
    element: h("div", { class: "form-row" }, fields.map((f) => f.element)),
    value() {
      const payload = {};
      for (const f of fields) {
        const value = f.read();
        if (value !== undefined) payload[f.name] = value;
      }
      return payload;
    },
    set(payload) {
      for (const f of fields) f.write(payload && typeof payload === "object" ? payload[f.name] : undefined);
    },
    showErrors(errors) {
      for (const f of fields) f.problem.hidden = true;
      for (const error of errors) {
        const f = fields.find((x) => x.name === String((error.loc || [])[0]));
        if (f) {
          f.problem.textContent = error.msg;
          f.problem.hidden = false;
        }
      }
    },
  };
}

function optionsForm() {
  const tags = h("input", { type: "text", name: "tags", placeholder: "tenant:acme, test" });
  const key = h("input", { type: "text", name: "idempotency_key", placeholder: "optional" });
  const delay = h("input", { type: "text", name: "delay", placeholder: "30s, 5m, 1h" });
  const priority = h("input", { type: "number", name: "priority", step: 1, placeholder: "0" });
  return {
    element: h(
      "details",
      {},
      h("summary", {}, "Options"),
      h("div", { class: "form-row", style: "margin-top:10px" }, h("label", {}, h("span", {}, "Tags (comma-separated)"), tags), h("label", {}, h("span", {}, "Idempotency key"), key), h("label", {}, h("span", {}, "Delay"), delay), h("label", {}, h("span", {}, "Priority (seconds ahead)"), priority)),
    ),
    value() {
      const options = {};
      const tagList = tags.value.split(",").map((t) => t.trim()).filter(Boolean);
      if (tagList.length) options.tags = tagList;
      if (key.value.trim()) options.idempotency_key = key.value.trim();
      if (delay.value.trim()) options.delay = delay.value.trim();
      if (priority.value !== "") options.priority = Number(priority.value);
      return options;
    },
  };
}

export async function renderOne(main, taskId, params, ctx) {
  const task = await get(`/api/v1/tasks/${encodeURIComponent(taskId)}`);
  const form = task.payload_schema ? schemaForm(task.payload_schema) : null;
  const editor = jsonEditor({ value: {}, maxBytes: ctx.info.max_payload_bytes, label: "Payload", rows: 10, name: "payload" });
  const options = optionsForm();
  const problem = h("div", { class: "error-text", hidden: true });
  let mode = form ? "form" : "json";
  const formTab = h("button", { type: "button", class: "on" }, "Form");
  const jsonTab = h("button", { type: "button" }, "JSON");
  const slot = h("div");

  function show(next, initial = false) {
    if (next === mode && !initial) return;
    if (form && next === "json") {
      try {
        editor.set(form.value());
      } catch (error) {
        return toast(error.message, { error: true });
      }
    }
    if (form && next === "form" && !initial) {
      try {
        form.set(editor.value());
      } catch (error) {
        return toast(error.message, { error: true });
      }
    }
    mode = next;
    formTab.classList.toggle("on", mode === "form");
    jsonTab.classList.toggle("on", mode === "json");
    fill(slot, mode === "form" ? form.element : editor.element);
  }
  formTab.addEventListener("click", () => show("form"));
  jsonTab.addEventListener("click", () => show("json"));

  async function submit(event) {
    event.preventDefault();
    problem.hidden = true;
    let payload;
    try {
      payload = mode === "form" ? form.value() : editor.value() ?? null;
    } catch (error) {
      problem.textContent = error.message;
      problem.hidden = false;
      return;
    }
    try {
      const result = await post(`/api/v1/tasks/${encodeURIComponent(taskId)}/trigger`, { payload, options: options.value() });
      toast(result.is_cached ? `An existing run has that idempotency key: ${result.id}` : `Triggered ${result.id}`);
      ctx.go(`#/runs/${result.id}`);
    } catch (error) {
      const errors = error.details?.errors || [];
      if (form && mode === "form") form.showErrors(errors);
      problem.textContent = error.message;
      problem.hidden = false;
    }
  }

  const recent = h("div", { class: "card flush" });
  fill(
    main,
    h("div", { class: "page-head" }, h("h1", {}, task.id), h("span", { class: "muted" }, `queue ${task.queue}`)),
    h(
      "div",
      { class: "grid" },
      h(
        "div",
        { class: "card" },
        h("h2", {}, "Test it"),
        h("p", { class: "muted" }, task.payload_schema ? "The payload is checked against the task's schema before a run is made." : "Any JSON payload."),
        h("form", { onsubmit: submit, id: "test-form" }, form ? h("div", { class: "tabs" }, formTab, jsonTab) : null, slot, options.element, problem, h("p", {}, h("button", { type: "submit", class: "primary" }, "Trigger run"))),
      ),
      h(
        "div",
        { class: "card" },
        h("h2", {}, "Definition"),
        facts([
          ["Queue", task.queue],
          ["Queue limit", task.queue_concurrency_limit ?? "none"],
          ["Retries", task.retry ? JSON.stringify(task.retry) : "the config's default"],
          ["Max duration", task.max_duration ? duration(task.max_duration) : "–"],
          ["TTL", task.ttl ? duration(task.ttl) : "–"],
        ]),
        task.payload_schema ? h("details", { style: "margin-top:10px" }, h("summary", {}, "Payload JSON Schema"), h("pre", { class: "json" }, JSON.stringify(task.payload_schema, null, 2))) : null,
      ),
    ),
    h("h2", {}, "Recent runs"),
    recent,
  );
  show(mode, true);
  async function load() {
    const page = await get(`/api/v1/runs${query({ task: taskId, limit: 10 })}`);
    if (!ctx.current()) return;
    fill(recent, page.data.length ? runTable(page.data, { showTask: false }) : empty("No runs of this task yet", "Use the form above."));
  }
  await load();
  ctx.every(3000, load);
}
