// The console's JSON API (under /console/api/). The session lives in an HttpOnly cookie; every POST but
// login carries the CSRF token that login returned, kept for this tab in sessionStorage.

export const BASE = "/console/api";
const TOKEN_KEY = "baylink.console.csrf";

export class ApiError extends Error {
  constructor(status, message, detail) {
    super(message);
    this.status = status;
    this.detail = detail;
  }
}

export function csrfToken() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function rememberToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// A readable message from an error body: the console's {code, message, fields: [{field, description}]},
// or FastAPI's {detail: "..."} / {detail: [{loc, msg}]}.
export function describeError(status, body) {
  if (body && typeof body.message === "string") {
    const fields = (body.fields || []).map((f) => `${f.field}: ${f.description}`).join("; ");
    return fields ? `${body.message} (${fields})` : body.message;
  }
  const detail = body && (body.detail ?? body.message ?? body.error);
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).filter((p) => p !== "body").join(".") || "request"}: ${d.msg}`).join("; ");
  }
  if (detail && typeof detail === "object" && detail.message) return detail.message;
  const fallback = { 401: "Please sign in again.", 403: "Your role may not do this.", 404: "Not found.",
    409: "Someone else already resolved this item." };
  return fallback[status] || `The server answered ${status}.`;
}

export async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && !path.endsWith("/login")) headers["X-CSRF-Token"] = csrfToken();
  let response;
  try {
    response = await fetch(BASE + path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, `The console server cannot be reached (${err.message}).`);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { detail: text.slice(0, 300) }; }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, describeError(response.status, data), data);
    if (response.status === 401) window.dispatchEvent(new CustomEvent("console:unauthorized"));
    throw error;
  }
  return data;
}

export const api = {
  login: (username, password) => request("POST", "/login", { username, password }),
  logout: () => request("POST", "/logout"),
  me: () => request("GET", "/me"),
  flow: (cid) => request("GET", `/flows/${encodeURIComponent(cid)}`),
  groups: () => request("GET", "/consumer-groups"),
  dlq: (status) => request("GET", `/dlq?status=${encodeURIComponent(status)}`),
  replay: (id) => request("POST", `/dlq/${encodeURIComponent(id)}/replay`),
  discard: (id, reason) => request("POST", `/dlq/${encodeURIComponent(id)}/discard`, { reason }),
  throughput: (minutes) => request("GET", `/stats/throughput?minutes=${encodeURIComponent(minutes)}`),
  alerts: () => request("GET", "/alerts"),
};

export function streamUrl(filters) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) if (value) query.set(name, value);
  const text = query.toString();
  return `${BASE}/events/stream${text ? `?${text}` : ""}`;
}
