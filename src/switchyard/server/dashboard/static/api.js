// The HTTP API as the dashboard uses it: the credential, JSON calls, errors.

const STORE_KEY = "switchyard.credential";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

/** The credential (API key or dashboard session) this tab signed in with. */
export function credential() {
  return sessionStorage.getItem(STORE_KEY) || localStorage.getItem(STORE_KEY) || "";
}

export function setCredential(value, remember) {
  sessionStorage.setItem(STORE_KEY, value);
  if (remember) localStorage.setItem(STORE_KEY, value);
  else localStorage.removeItem(STORE_KEY);
}

export function clearCredential() {
  sessionStorage.removeItem(STORE_KEY);
  localStorage.removeItem(STORE_KEY);
}

let onUnauthorized = () => {};
/** What to do when the API says the credential is no good (show the sign-in). */
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

/** Call the API; resolves to the JSON answer, rejects with an ApiError. */
export async function api(method, path, body, { key } = {}) {
  const headers = { Accept: "application/json" };
  const secret = key ?? credential();
  if (secret) headers.Authorization = `Bearer ${secret}`;
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, "network", `the server cannot be reached (${error.message})`);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    const failure = new ApiError(
      response.status,
      error.code || "http_error",
      error.message || `${method} ${path} answered ${response.status}`,
      error,
    );
    if (response.status === 401 && key === undefined) onUnauthorized(failure);
    throw failure;
  }
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body === undefined ? {} : body);
export const put = (path, body) => api("PUT", path, body);
export const del = (path) => api("DELETE", path);

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** A path segment for a queue name (names like task/x keep their slash). */
export function queuePath(name) {
  return name.split("/").map(encodeURIComponent).join("/");
}
