// The dashboard app: sign-in, the top bar, the environment banner and the router.
// Pages live in pages/*.js; each renders into <main> and may register live refreshes.

import { ApiError, api, clearCredential, credential, get, post, setCredential, whenUnauthorized } from "./api.js";
import { fill, h, toast } from "./ui.js";
import * as runs from "./pages/runs.js";
import * as run from "./pages/run.js";
import * as tokens from "./pages/tokens.js";
import * as queues from "./pages/queues.js";
import * as tasks from "./pages/tasks.js";

const ROUTES = [
  [/^\/runs\/([^/]+)$/, run.render, "runs"],
  [/^\/runs$/, runs.render, "runs"],
  [/^\/tokens\/([^/]+)$/, tokens.renderOne, "tokens"],
  [/^\/tokens$/, tokens.render, "tokens"],
  [/^\/queues$/, queues.render, "queues"],
  [/^\/tasks\/([^/]+)$/, tasks.renderOne, "tasks"],
  [/^\/tasks$/, tasks.render, "tasks"],
];

const main = document.getElementById("main");
let info = null;
let timers = [];
let generation = 0;

function stopTimers() {
  for (const timer of timers) clearInterval(timer);
  timers = [];
}

/** What a page gets: the dashboard info, live refreshes tied to the page, navigation. */
function context(myGeneration) {
  return {
    info,
    /** Run `refresh` every `ms` while this page is shown and the tab is visible. */
    every(ms, refresh) {
      const timer = setInterval(async () => {
        if (myGeneration !== generation || document.hidden) return;
        try {
          await refresh();
        } catch (error) {
          if (!(error instanceof ApiError && error.status === 401)) console.warn("refresh failed", error);
        }
      }, ms);
      timers.push(timer);
    },
    current: () => myGeneration === generation,
    setEnvironmentPaused,
    environment: () => get("/api/v1/environment"),
    go(hash) {
      location.hash = hash;
    },
  };
}

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/runs";
  const [path, search = ""] = raw.split("?");
  return { path, params: new URLSearchParams(search) };
}

async function route() {
  stopTimers();
  generation += 1;
  const mine = generation;
  if (info.auth && !credential()) return signIn();
  const { path, params } = parseHash();
  for (const [pattern, render, section] of ROUTES) {
    const match = path.match(pattern);
    if (!match) continue;
    for (const link of document.querySelectorAll("#nav a")) {
      link.classList.toggle("active", link.dataset.section === section);
    }
    const args = match.slice(1).map(decodeURIComponent);
    // Each visit renders into its own element: a slower, older visit that finishes
    // late fills an element no longer on the page instead of replacing this one.
    const view = h("div", { class: "view" });
    main.replaceChildren(view);
    try {
      await render(view, ...args, params, context(mine));
    } catch (error) {
      if (mine !== generation) return;
      if (error instanceof ApiError && error.status === 401) return;
      fill(view, h("div", { class: "card" }, h("h2", {}, error.status === 404 ? "Not found" : "Something went wrong"), h("p", {}, error.message), h("a", { href: "#/runs" }, "Back to runs")));
    }
    return;
  }
  location.hash = "#/runs";
}

// -- environment -------------------------------------------------------------------------
async function refreshEnvironment() {
  if (info.auth && !credential()) return;
  const env = await get("/api/v1/environment");
  const badge = document.getElementById("env");
  fill(badge, "environment ", h("b", {}, env.name), env.paused ? " · paused" : "");
  badge.hidden = false;
  const banner = document.getElementById("env-banner");
  if (env.paused) {
    fill(
      banner,
      `Environment “${env.name}” is paused: no run starts, in any queue, until you resume it.`,
      h("button", { type: "button", onclick: () => setEnvironmentPaused(false) }, "Resume environment"),
    );
  }
  banner.hidden = !env.paused;
  document.dispatchEvent(new CustomEvent("switchyard:environment", { detail: env }));
}

async function setEnvironmentPaused(paused) {
  try {
    await post(`/api/v1/environment/${paused ? "pause" : "resume"}`);
    toast(paused ? "Environment paused: no new run starts" : "Environment resumed");
  } catch (error) {
    toast(error.message, { error: true });
  }
  await refreshEnvironment();
}

// -- sign-in -----------------------------------------------------------------------------
function showChrome(on) {
  document.getElementById("nav").hidden = !on;
  document.getElementById("sign-out").hidden = !on || !info.auth;
  if (!on) {
    document.getElementById("env").hidden = true;
    document.getElementById("env-banner").hidden = true;
  }
}

async function acceptCredential(value, remember) {
  await api("GET", "/api/v1/environment", undefined, { key: value });
  setCredential(value, remember);
  showChrome(true);
  await refreshEnvironment();
  await route();
}

function signIn(message) {
  stopTimers();
  showChrome(false);
  const problem = h("p", { class: "error-text", hidden: !message }, message || "");
  const remember = h("input", { type: "checkbox", name: "remember" });
  const key = h("input", { type: "password", name: "api_key", placeholder: "sy_…", autocomplete: "off", required: true });
  const fail = (error) => {
    problem.textContent = error.status === 401 ? `Not accepted: ${error.message}` : error.message;
    problem.hidden = false;
  };
  const keyForm = h(
    "form",
    {
      async onsubmit(event) {
        event.preventDefault();
        try {
          await acceptCredential(key.value.trim(), remember.checked);
        } catch (error) {
          fail(error);
        }
      },
    },
    h("label", {}, h("span", {}, "API key"), key),
    h("p", { class: "muted" }, "Create one with ", h("code", {}, "switchyard keys create --name dashboard"), "."),
    h("button", { type: "submit", class: "primary" }, "Sign in with key"),
  );
  let passwordForm = null;
  if (info.password) {
    const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
    passwordForm = h(
      "form",
      {
        async onsubmit(event) {
          event.preventDefault();
          try {
            const session = await api("POST", "/api/v1/auth/dashboard-sessions", { password: password.value }, { key: "" });
            await acceptCredential(session.token, remember.checked);
          } catch (error) {
            fail(error);
          }
        },
      },
      h("label", {}, h("span", {}, "Dashboard password"), password),
      h("p", {}, h("button", { type: "submit", class: "primary" }, "Sign in with password")),
    );
  }
  fill(
    main,
    h(
      "div",
      { class: "card signin" },
      h("h1", {}, "Sign in"),
      h("p", { class: "muted" }, `Environment “${info.environment}” on this server.`),
      passwordForm,
      passwordForm ? h("div", { class: "or" }, "or") : null,
      keyForm,
      h("label", { style: "margin-top:12px; display:flex; gap:6px; align-items:center" }, remember, "Keep me signed in on this browser"),
      problem,
    ),
  );
  (passwordForm ? passwordForm.querySelector("input") : key).focus();
}

// -- start -------------------------------------------------------------------------------
async function start() {
  try {
    info = await api("GET", "/api/v1/auth/dashboard", undefined, { key: "" });
  } catch (error) {
    fill(main, h("div", { class: "card" }, h("h2", {}, "The server cannot be reached"), h("p", {}, error.message)));
    return;
  }
  // `switchyard dev` prints a link with the key in the fragment: take it, then drop it
  // from the address bar (fragments never reach the server or its logs).
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  if (fragment.get("key")) {
    setCredential(fragment.get("key"), false);
    history.replaceState(null, "", `${location.pathname}#/runs`);
  }
  whenUnauthorized((error) => {
    clearCredential();
    signIn(`Signed out: ${error.message}`);
  });
  document.getElementById("sign-out").addEventListener("click", () => {
    clearCredential();
    signIn();
  });
  window.addEventListener("hashchange", route);
  if (info.auth && !credential()) return signIn();
  showChrome(true);
  try {
    await refreshEnvironment();
  } catch (error) {
    if (error.status !== 401) toast(error.message, { error: true });
    else return;
  }
  setInterval(() => {
    if (!document.hidden) refreshEnvironment().catch(() => {});
  }, 5000);
  await route();
}

start();
