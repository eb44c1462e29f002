// Consumer groups with their lag per partition, refreshed while the view is open.

import { api } from "./api.js";
import { $, el, setStatus } from "./dom.js";

export class Groups {
  constructor() {
    $("groups-refresh").addEventListener("click", () => this.load());
  }

  async load() {
    setStatus("groups-status", "Loading consumer groups…");
    try {
      const groups = await api.groups();
      this.render(groups);
      const lag = groups.reduce((sum, g) => sum + (g.total_lag || 0), 0);
      setStatus("groups-status", `${groups.length} groups, total lag ${lag} · updated ${new Date().toLocaleTimeString()}`);
    } catch (err) {
      setStatus("groups-status", `Could not load consumer groups: ${err.message}`);
    }
  }

  render(groups) {
    $("groups-list").replaceChildren(...groups.map((group) => {
      const heading = `${group.group_id} — ${group.state || "unknown"}, ${group.members ?? 0} members, lag ${group.total_lag ?? 0}`;
      const rows = (group.partitions || []).map((p) => el("tr", {},
        el("td", { class: "mono", text: p.topic }),
        el("td", { text: p.partition }),
        el("td", { text: p.committed ?? "—" }),
        el("td", { text: p.end ?? "—" }),
        el("td", { class: p.lag > 0 ? "lag-high" : undefined, text: p.lag ?? "—" }),
      ));
      return el("section", { class: "group", dataset: { group: group.group_id } },
        el("h3", { text: heading }),
        el("table", { class: "records" },
          el("caption", { class: "visually-hidden", text: `Lag per partition of ${group.group_id}` }),
          el("thead", {}, el("tr", {}, ...["Topic", "Partition", "Committed", "End", "Lag"]
            .map((name) => el("th", { scope: "col", text: name })))),
          el("tbody", {}, ...rows)));
    }));
  }
}
