// chart.js — hand-drawn SVG charts: the activity timeline and the signing
// keys' lifecycle. Colours come from app.css classes (light and dark).
import { s, clear } from "./dom.js";

const W = 960;

function shortTime(ms, spanMs) {
  const d = new Date(ms);
  if (spanMs <= 2 * 86400e3) return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  return d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

/**
 * activityChart draws buckets ([{start, allowed, denied, error}]) as stacked bars.
 */
export function activityChart(svg, buckets, bucketSeconds) {
  clear(svg);
  const H = 180, L = 40, R = 8, T = 10, B = 24;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const list = buckets || [];
  let max = 0, total = { allowed: 0, denied: 0, error: 0 };
  for (const b of list) {
    max = Math.max(max, (b.allowed || 0) + (b.denied || 0) + (b.error || 0));
    for (const k of Object.keys(total)) total[k] += b[k] || 0;
  }
  svg.setAttribute("aria-label",
    `Activity timeline: ${total.allowed} allowed, ${total.denied} denied, ${total.error} errors`);
  svg.append(s("title", { text: svg.getAttribute("aria-label") }));
  const plotW = W - L - R, plotH = H - T - B;
  svg.append(s("line", { class: "axis", x1: L, y1: T + plotH, x2: W - R, y2: T + plotH }));
  if (!list.length || max === 0) {
    svg.append(s("text", { class: "chart-empty", x: L + plotW / 2, y: T + plotH / 2, "text-anchor": "middle", text: "No activity in this period" }));
    return;
  }
  const y = (n) => (n / max) * plotH;
  for (const v of [0, Math.ceil(max / 2), max]) {
    const yy = T + plotH - y(v);
    svg.append(s("line", { class: "grid", x1: L, y1: yy, x2: W - R, y2: yy }));
    svg.append(s("text", { class: "tick", x: L - 6, y: yy + 4, "text-anchor": "end", text: String(v) }));
  }
  const bw = plotW / list.length;
  const gap = bw > 4 ? 1 : 0;
  list.forEach((b, i) => {
    const g = s("g", { class: "bucket" });
    const x = L + i * bw;
    let base = T + plotH;
    for (const k of ["allowed", "denied", "error"]) {
      const n = b[k] || 0;
      if (!n) continue;
      const hh = y(n);
      base -= hh;
      g.append(s("rect", { class: "bar " + k, x: x + gap / 2, y: base, width: Math.max(bw - gap, 0.5), height: hh }));
    }
    g.append(s("title", { text: `${new Date(b.start).toLocaleString()}: ${b.allowed || 0} allowed, ${b.denied || 0} denied, ${b.error || 0} error` }));
    svg.append(g);
  });
  const t0 = Date.parse(list[0].start);
  const span = (bucketSeconds || 60) * 1000 * list.length;
  for (const [i, anchor] of [[0, "start"], [Math.floor(list.length / 2), "middle"], [list.length, "end"]]) {
    svg.append(s("text", { class: "tick", x: L + i * bw, y: H - 6, "text-anchor": anchor, text: shortTime(t0 + (i * span) / list.length, span) }));
  }
}

const PHASES = ["prepared", "active", "retired", "unpublished"];

/**
 * keysTimeline draws each signing key as a row of lifecycle segments
 * (prepared → active → retired → unpublished) on a shared time axis, with
 * "now" and the next scheduled event marked.
 */
export function keysTimeline(svg, keys, next) {
  clear(svg);
  const list = keys || [];
  const L = 150, R = 12, T = 36, row = 28, B = 26;
  const H = T + Math.max(list.length, 1) * row + B;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("aria-label", `Signing keys timeline: ${list.length} keys`);
  svg.append(s("title", { text: svg.getAttribute("aria-label") }));
  const now = Date.now();
  const ts = [now];
  for (const k of list) for (const f of ["createdAt", "activatesAt", "retiredAt", "notAfter"]) {
    const t = Date.parse(k[f]);
    if (!isNaN(t)) ts.push(t);
  }
  if (next && next.at && !isNaN(Date.parse(next.at))) ts.push(Date.parse(next.at));
  let t0 = Math.min(...ts), t1 = Math.max(...ts);
  const pad = Math.max((t1 - t0) * 0.05, 3600e3);
  t0 -= pad; t1 += pad;
  const plotW = W - L - R;
  const x = (t) => L + ((t - t0) / (t1 - t0)) * plotW;
  const axisY = T + Math.max(list.length, 1) * row;
  svg.append(s("line", { class: "axis", x1: L, y1: axisY, x2: W - R, y2: axisY }));
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    svg.append(s("line", { class: "grid", x1: x(t), y1: T - 4, x2: x(t), y2: axisY }));
    svg.append(s("text", { class: "tick", x: x(t), y: H - 8, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle", text: shortTime(t, t1 - t0) }));
  }
  if (!list.length) {
    svg.append(s("text", { class: "chart-empty", x: L + plotW / 2, y: T + row / 2 + 4, "text-anchor": "middle", text: "No signing keys" }));
  }
  list.forEach((k, i) => {
    const top = T + i * row + 5;
    const g = s("g", { class: "key state-" + k.state, "data-kid": k.kid, "data-state": k.state });
    const kid = String(k.kid || "");
    const label = kid.length > 18 ? kid.slice(0, 17) + "…" : kid;
    g.append(s("text", { class: "key-label", x: L - 8, y: top + 13, "text-anchor": "end", text: label }));
    const at = (f) => { const t = Date.parse(k[f]); return isNaN(t) ? null : t; };
    const bounds = [at("createdAt") ?? t0, at("activatesAt"), at("retiredAt"), at("notAfter")];
    const reached = PHASES.indexOf(k.state);
    for (let p = 0; p < PHASES.length; p++) {
      const start = bounds[p];
      if (start === null) continue;
      let end = null;
      for (let q = p + 1; q < bounds.length && end === null; q++) end = bounds[q];
      if (end === null) end = t1; // the phase lasts to the axis' end
      if (end <= start) continue;
      // A phase the key has not reached yet is drawn as scheduled.
      const cls = "seg seg-" + PHASES[p] + (p > reached ? " scheduled" : "");
      g.append(s("rect", { class: cls, x: x(start), y: top, width: Math.max(x(end) - x(start), 1), height: 18, rx: 3 }));
    }
    g.append(s("title", { text: `${k.kid} (${k.alg || "?"}) — ${k.state}` }));
    svg.append(g);
  });
  svg.append(s("line", { class: "now-line", x1: x(now), y1: T - 8, x2: x(now), y2: axisY }));
  svg.append(s("text", { class: "marker-label", x: x(now), y: T - 22, "text-anchor": x(now) > W - 40 ? "end" : "middle", text: "now" }));
  if (next && next.at && !isNaN(Date.parse(next.at))) {
    const nx = x(Date.parse(next.at));
    svg.append(s("line", { class: "next-line", x1: nx, y1: T - 8, x2: nx, y2: axisY }));
    svg.append(s("text", { class: "marker-label next", x: nx, y: T - 8, "text-anchor": nx > W - 200 ? "end" : "start", text: "next: " + next.event }));
  }
}
