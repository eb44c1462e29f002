// The kiosk API on this origin: JSON in and out, the session's bearer token, the page's language on
// every call (so refusals come back in it). A refusal throws ApiError with the API's body.

export class ApiError extends Error {
  constructor(status, body) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || "HTTP_ERROR";
    this.fields = body.fields || [];
    this.correlationId = body.correlation_id || "";
  }
}

export class KioskApi {
  constructor(language) {
    this.token = "";
    this.language = language;
  }

  async call(method, path, body = undefined, { keepalive = false } = {}) {
    const url = new URL(path, window.location.origin);
    url.searchParams.set("lang", this.language);
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let response;
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), keepalive });
    } catch (error) {
      throw new ApiError(0, { code: "NETWORK", message: String(error) });
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  async open(kioskId) {
    const session = await this.call("POST", "/v1/sessions", { kiosk_id: kioskId, language: this.language });
    this.token = session.session_token;
    return session;
  }

  /** Close the session server-side (its people and handles are forgotten); never throws. */
  async end() {
    if (!this.token) return;
    try {
      await this.call("DELETE", "/v1/sessions/current", undefined, { keepalive: true });
    } catch {
      // Expired or unknown already: nothing left to close.
    } finally {
      this.token = "";
    }
  }
}
