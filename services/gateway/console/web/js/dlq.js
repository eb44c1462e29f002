// The dead-letter list. Operators get Replay and Discard (discard asks for a reason); viewers see the
// list only — the server refuses them anyway (403), the buttons are simply not drawn.

import { api } from "./api.js";
import { $, el, setStatus, utc } from "./dom.js";

export class DeadLetters {
  constructor(session) {
    this.session = session;
    this.discarding = null;
    // Bumped by every load and every replay or discard: a list answer that arrives after a newer load or
    // an action was started is stale (answers can overtake each other) and is dropped, never drawn.
    this.generation = 0;
    $("dlq-form").addEventListener("submit", (event) => { event.preventDefault(); this.load(); });
    $("dlq-status").addEventListener("change", () => this.load());
    $("discard-cancel").addEventListener("click", () => $("discard-dialog").close());
    $("discard-form").addEventListener("submit", (event) => { event.preventDefault(); this.confirmDiscard(); });
    $("discard-reason").addEventListener("input", () => { $("discard-error").textContent = ""; });
  }

  get operator() {
    return this.session.role === "operator";
  }

  async load() {
    const status = $("dlq-status").value;
    const mine = ++this.generation;
    setStatus("dlq-status-line", "Loading dead letters…");
    try {
      const items = await api.dlq(status);
      if (mine !== this.generation) return;
      this.render(items);
      setStatus("dlq-status-line", `${items.length} ${status === "open" ? "open " : ""}dead letters · updated ${new Date().toLocaleTimeString()}`);
    } catch (err) {
      if (mine === this.generation) this.showError(`Could not load dead letters: ${err.message}`);
    }
  }

  render(items) {
    for (const cell of document.querySelectorAll(".operator-only")) cell.hidden = !this.operator;
    $("dlq-rows").replaceChildren(...items.map((item) => this.row(item)));
  }

  row(item) {
    const resolved = item.status !== "open";
    const note = resolved && item.resolved_by
      ? ` by ${item.resolved_by}${item.resolved_at ? ` at ${utc(item.resolved_at)}` : ""}${item.reason ? ` — ${item.reason}` : ""}`
      : "";
    const actions = this.operator ? el("td", { class: "actions" },
      el("button", { type: "button", class: "primary", disabled: resolved, "data-action": "replay",
        "aria-label": `Replay ${item.dlq_id}`, onclick: (e) => this.replay(item, e.currentTarget), text: "Replay" }),
      el("button", { type: "button", class: "danger", disabled: resolved, "data-action": "discard",
        "aria-label": `Discard ${item.dlq_id}`, onclick: () => this.askDiscard(item), text: "Discard" }),
    ) : null;
    return el("tr", { dataset: { dlqId: item.dlq_id, status: item.status } },
      el("td", { class: "mono", text: utc(item.dead_at) }),
      el("td", { class: "mono", text: item.event_type || "(not a CloudEvent)" }),
      el("td", { class: "mono", text: `${item.original_topic} · ${item.original_partition} · ${item.original_offset}` }),
      el("td", { class: "mono", text: item.group || "" }),
      el("td", { text: item.error || "" }),
      el("td", { class: "mono", text: item.correlation_id || "" }),
      el("td", {}, el("span", { class: `status-${item.status}`, text: item.status }), note),
      actions,
    );
  }

  replace(item) {
    const old = document.querySelector(`#dlq-rows tr[data-dlq-id="${CSS.escape(item.dlq_id)}"]`);
    if (old) old.replaceWith(this.row(item));
  }

  async replay(item, button) {
    this.showError("");
    button.disabled = true;
    try {
      const updated = await api.replay(item.dlq_id);
      this.generation++;
      this.replace(updated);
      setStatus("dlq-status-line", `Replayed ${item.dlq_id} to ${item.original_topic}.`);
    } catch (err) {
      button.disabled = false;
      this.showError(`Replay of ${item.dlq_id} failed: ${err.message}`);
      if (err.status === 409) this.load();
    }
  }

  askDiscard(item) {
    this.showError("");
    this.discarding = item;
    $("discard-what").textContent = `${item.event_type || "record"} from ${item.original_topic} (${item.dlq_id})`;
    $("discard-reason").value = "";
    $("discard-error").textContent = "";
    $("discard-dialog").showModal();
    $("discard-reason").focus();
  }

  async confirmDiscard() {
    const item = this.discarding;
    const reason = $("discard-reason").value.trim();
    if (!reason) {
      $("discard-error").textContent = "Give a reason: it is recorded in the audit log.";
      $("discard-reason").focus();
      return;
    }
    try {
      const updated = await api.discard(item.dlq_id, reason);
      this.generation++;
      $("discard-dialog").close();
      this.replace(updated);
      setStatus("dlq-status-line", `Discarded ${item.dlq_id}.`);
    } catch (err) {
      $("discard-error").textContent = err.message;
      if (err.status === 409) { $("discard-dialog").close(); this.showError(err.message); this.load(); }
    }
  }

  showError(text) {
    $("dlq-error").textContent = text;
  }
}
