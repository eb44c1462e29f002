// The live tail: one EventSource on /events/stream with the filters as query parameters. Newest on top,
// at most MAX_ROWS rows; while paused, records wait in a bounded buffer and appear on resume.

import { streamUrl } from "./api.js";
import { $, el, setStatus, shortId, utc } from "./dom.js";

export const MAX_ROWS = 500;

export class Tail {
  constructor({ onOpenFlow, onAlert }) {
    this.onOpenFlow = onOpenFlow;
    this.onAlert = onAlert;
    this.source = null;
    this.paused = false;
    this.waiting = [];
    this.received = 0;
    this.filters = {};
    $("tail-filters").addEventListener("submit", (event) => {
      event.preventDefault();
      const city = $("f-city");
      if (city.value && !/^\d{6}$/.test(city.value.trim())) {
        setStatus("tail-status", "City is a 6-digit division code, e.g. 440605.");
        city.focus();
        return;
      }
      this.connect(this.readFilters());
    });
    $("tail-pause").addEventListener("click", () => this.togglePause());
    $("tail-clear").addEventListener("click", () => this.clear());
  }

  readFilters() {
    const form = new FormData($("tail-filters"));
    const filters = {};
    for (const name of ["type", "service", "city", "correlation_id"]) {
      const value = String(form.get(name) || "").trim();
      if (value) filters[name] = value;
    }
    return filters;
  }

  connect(filters = this.filters) {
    this.disconnect();
    this.filters = filters;
    const source = new EventSource(streamUrl(filters), { withCredentials: true });
    this.source = source;
    source.addEventListener("open", () => this.describe("live"));
    source.addEventListener("record", (message) => this.receive(JSON.parse(message.data)));
    source.addEventListener("alert", (message) => this.onAlert(JSON.parse(message.data)));
    source.addEventListener("error", () => {
      // EventSource reconnects by itself; a closed source (e.g. 401) does not.
      this.describe(source.readyState === EventSource.CLOSED ? "disconnected" : "reconnecting…");
    });
    this.describe("connecting…");
  }

  disconnect() {
    if (this.source) this.source.close();
    this.source = null;
  }

  receive(record) {
    this.received += 1;
    if (this.paused) {
      this.waiting.push(record);
      if (this.waiting.length > MAX_ROWS) this.waiting.shift();
    } else {
      this.show([record]);
    }
    this.describe();
  }

  show(records) {
    const body = $("tail-rows");
    for (const record of records) body.prepend(this.row(record));
    while (body.rows.length > MAX_ROWS) body.lastElementChild.remove();
  }

  row(record) {
    const open = () => this.onOpenFlow(record.correlation_id);
    const activate = (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(); }
    };
    const clickable = Boolean(record.correlation_id);
    return el("tr", {
      class: clickable ? "clickable fresh" : "fresh",
      tabindex: clickable ? "0" : undefined,
      title: clickable ? "Show this flow's timeline" : undefined,
      dataset: { id: record.id || "", correlationId: record.correlation_id || "", type: record.type || "" },
      onclick: clickable ? open : undefined,
      onkeydown: clickable ? activate : undefined,
    },
      el("td", { class: "mono", text: utc(record.timestamp) }),
      el("td", { text: record.service || "" }),
      el("td", { class: "mono", text: record.type || "" }),
      el("td", { text: record.city || "" }),
      el("td", { class: "mono", text: shortId(record.subject, 24), title: record.subject || undefined }),
      el("td", { class: "mono", text: record.correlation_id || "" }),
      el("td", { class: "mono", text: `${record.topic} · ${record.partition} · ${record.offset}` }),
    );
  }

  togglePause() {
    this.paused = !this.paused;
    const button = $("tail-pause");
    button.setAttribute("aria-pressed", String(this.paused));
    button.textContent = this.paused ? "Resume" : "Pause";
    if (!this.paused) {
      this.show(this.waiting);
      this.waiting = [];
    }
    this.describe();
  }

  clear() {
    $("tail-rows").replaceChildren();
    this.waiting = [];
    this.received = 0;
    this.describe();
  }

  describe(state) {
    if (state) this.state = state;
    const shown = $("tail-rows").rows.length;
    const filters = Object.entries(this.filters).map(([k, v]) => `${k}=${v}`).join(", ") || "none";
    const waiting = this.paused ? ` · paused, ${this.waiting.length} waiting` : "";
    setStatus("tail-status", `Stream ${this.state} · filters: ${filters} · showing ${shown} of at most ${MAX_ROWS}${waiting}`);
  }
}
