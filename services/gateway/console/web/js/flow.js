// One flow's timeline: every record with the correlation id, across topics, in time order, with the time
// since the flow's first event so slow hops stand out.

import { api } from "./api.js";
import { $, el, setStatus, utc } from "./dom.js";

export class Flow {
  constructor() {
    $("flow-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const cid = $("flow-id").value.trim();
      if (!cid) {
        setStatus("flow-status", "Enter a correlation id.");
        $("flow-id").focus();
        return;
      }
      location.hash = `#flow/${encodeURIComponent(cid)}`;
    });
  }

  async show(cid) {
    $("flow-id").value = cid || "";
    const list = $("flow-list");
    if (!cid) {
      list.replaceChildren();
      setStatus("flow-status", "Choose a row in the live tail, or enter a correlation id.");
      return;
    }
    setStatus("flow-status", `Loading flow ${cid}…`);
    try {
      const flow = await api.flow(cid);
      this.render(flow);
    } catch (err) {
      list.replaceChildren();
      setStatus("flow-status", `Could not load flow ${cid}: ${err.message}`);
    }
  }

  render(flow) {
    const records = flow.records || [];
    const list = $("flow-list");
    const first = records.length ? new Date(records[0].timestamp).getTime() : 0;
    list.replaceChildren(...records.map((record) => {
      const delta = new Date(record.timestamp).getTime() - first;
      return el("li", { dataset: { id: record.id || "", type: record.type || "" } },
        el("div", {},
          el("span", { class: "when mono", text: utc(record.timestamp) }),
          el("span", { class: "delta", text: `+${(delta / 1000).toFixed(3)} s` })),
        el("div", {}, el("strong", { text: record.service || "?" }), " · ",
          el("span", { class: "mono", text: record.type || "" })),
        el("div", { class: "mono", text: `subject ${record.subject || "—"}${record.city ? ` · city ${record.city}` : ""}` }),
        el("div", { class: "mono", text: `${record.topic} · partition ${record.partition} · offset ${record.offset}` }),
        el("details", {}, el("summary", { text: "Event data" }),
          el("pre", { text: JSON.stringify(record.data ?? null, null, 2) })),
      );
    }));
    const services = [...new Set(records.map((r) => r.service).filter(Boolean))];
    setStatus("flow-status", records.length
      ? `Flow ${flow.correlation_id}: ${records.length} events across ${services.join(", ") || "unknown services"}`
      : `No events found for flow ${flow.correlation_id}.`);
  }
}
