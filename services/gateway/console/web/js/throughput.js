// Throughput per event type as a stacked bar chart drawn in SVG: one bar per time bucket, one colour
// per event type, with a legend and a totals table for screen readers.

import { api } from "./api.js";
import { $, el, setStatus } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#0b4f9c", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207", "#be185d",
  "#4d7c0f", "#1e3a8a", "#6b21a8", "#9a3412"];
const WIDTH = 900;
const HEIGHT = 300;
const PAD = { left: 48, right: 12, top: 12, bottom: 36 };

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function hhmm(iso) {
  return new Date(iso).toISOString().slice(11, 16);
}

export class Throughput {
  constructor() {
    $("throughput-form").addEventListener("submit", (event) => { event.preventDefault(); this.load(); });
    $("throughput-minutes").addEventListener("change", () => this.load());
    this.colours = new Map();
  }

  colour(type) {
    if (!this.colours.has(type)) this.colours.set(type, PALETTE[this.colours.size % PALETTE.length]);
    return this.colours.get(type);
  }

  async load() {
    const minutes = $("throughput-minutes").value;
    try {
      const stats = await api.throughput(minutes);
      this.render(stats);
    } catch (err) {
      setStatus("throughput-status", `Could not load throughput: ${err.message}`);
    }
  }

  render(stats) {
    const buckets = stats.buckets || [];
    const totals = new Map();
    for (const bucket of buckets) {
      for (const [type, n] of Object.entries(bucket.counts || {})) totals.set(type, (totals.get(type) || 0) + n);
    }
    const types = [...totals.keys()].sort();
    const peak = Math.max(1, ...buckets.map((b) => Object.values(b.counts || {}).reduce((s, n) => s + n, 0)));
    const total = [...totals.values()].reduce((s, n) => s + n, 0);
    $("throughput-chart").replaceChildren(this.chart(buckets, types, peak, stats.bucket_seconds, total));
    $("throughput-legend").replaceChildren(...types.map((type) => el("li", {},
      el("span", { class: "swatch", style: `background:${this.colour(type)}` }),
      el("span", { class: "mono", text: `${type} (${totals.get(type)})` }))));
    $("throughput-totals").replaceChildren(...types.map((type) => el("tr", {},
      el("td", { class: "mono", text: type }), el("td", { text: totals.get(type) }))));
    setStatus("throughput-status",
      `${total} events in ${buckets.length} buckets of ${stats.bucket_seconds} s · updated ${new Date().toLocaleTimeString()}`);
  }

  chart(buckets, types, peak, bucketSeconds, total) {
    const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", id: "throughput-svg",
      "aria-label": `Events per ${bucketSeconds}-second bucket, ${total} in all, stacked by event type` });
    const plotW = WIDTH - PAD.left - PAD.right;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const y = (n) => PAD.top + plotH - (n / peak) * plotH;
    for (const tick of [0, Math.ceil(peak / 2), peak]) {
      root.append(svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(tick), y2: y(tick), stroke: "#9ca3af" }));
      root.append(svg("text", { x: PAD.left - 6, y: y(tick) + 4, "text-anchor": "end" }, tick));
    }
    const slot = plotW / Math.max(1, buckets.length);
    const barW = Math.max(1, slot * 0.8);
    const labelEvery = Math.max(1, Math.ceil(buckets.length / 10));
    buckets.forEach((bucket, i) => {
      const x = PAD.left + i * slot + (slot - barW) / 2;
      let base = 0;
      for (const type of types) {
        const n = (bucket.counts || {})[type] || 0;
        if (!n) continue;
        const rect = svg("rect", { x, y: y(base + n), width: barW, height: y(base) - y(base + n),
          fill: this.colour(type), "data-type": type, "data-count": n });
        rect.append(svg("title", {}, `${hhmm(bucket.start)} UTC · ${type}: ${n}`));
        root.append(rect);
        base += n;
      }
      if (i % labelEvery === 0) {
        root.append(svg("text", { x: x + barW / 2, y: HEIGHT - PAD.bottom + 16, "text-anchor": "middle" },
          hhmm(bucket.start)));
      }
    });
    root.append(svg("text", { x: PAD.left, y: HEIGHT - 4 }, "time (UTC)"));
    return root;
  }
}
