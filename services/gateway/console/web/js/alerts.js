// Alerts (security events from the bulk-leak guard, overdue applications, a growing DLQ): the list,
// fed by GET /alerts and by `alert` events on the stream, and a badge counting the ones not yet seen.

import { api } from "./api.js";
import { $, el, setStatus, utc } from "./dom.js";

const KIND = { security: "Security", overdue: "Overdue application", dlq_growth: "Dead-letter queue growing" };
const MAX_ALERTS = 200;

function keyOf(alert) {
  return [alert.kind, alert.at, alert.correlation_id, alert.message].join("|");
}

export class Alerts {
  constructor() {
    this.items = [];
    this.keys = new Set();
    this.seen = new Set();
    this.visible = false;
    $("alerts-refresh").addEventListener("click", () => this.load());
  }

  async load() {
    try {
      const alerts = await api.alerts();
      this.merge(alerts);
      setStatus("alerts-status", `${this.items.length} alerts · updated ${new Date().toLocaleTimeString()}`);
    } catch (err) {
      setStatus("alerts-status", `Could not load alerts: ${err.message}`);
    }
  }

  push(alert) {
    this.merge([alert]);
  }

  merge(alerts) {
    for (const alert of alerts) {
      const key = keyOf(alert);
      if (this.keys.has(key)) continue;
      this.keys.add(key);
      this.items.push(alert);
    }
    this.items.sort((a, b) => String(b.at).localeCompare(String(a.at)));
    this.items = this.items.slice(0, MAX_ALERTS);
    if (this.visible) this.markSeen();
    this.render();
  }

  setVisible(visible) {
    this.visible = visible;
    if (visible) { this.markSeen(); this.render(); }
  }

  markSeen() {
    for (const alert of this.items) this.seen.add(keyOf(alert));
  }

  render() {
    $("alerts-list").replaceChildren(...this.items.map((alert) => el("li", {
      class: `kind-${alert.kind} severity-${alert.severity || "info"}`, dataset: { kind: alert.kind } },
      el("strong", { text: `${KIND[alert.kind] || alert.kind}${alert.severity ? ` (${alert.severity})` : ""}: ` }),
      el("span", { text: alert.message || "" }),
      el("div", { class: "meta" }, `${utc(alert.at)} UTC`,
        alert.type ? ` · ${alert.type}` : "",
        alert.correlation_id ? " · flow " : "",
        alert.correlation_id ? el("a", { href: `#flow/${encodeURIComponent(alert.correlation_id)}`, class: "mono",
          text: alert.correlation_id }) : ""),
    )));
    const unseen = this.items.filter((a) => !this.seen.has(keyOf(a))).length;
    const badge = $("alert-badge");
    badge.hidden = unseen === 0;
    badge.textContent = String(unseen);
    badge.setAttribute("aria-label", `${unseen} new alerts`);
  }
}
