// dom.js — tiny helpers that build DOM nodes. Text always goes in through
// text nodes (never markup), so server data cannot inject elements.

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") el.textContent = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** h builds an HTML element: h("td", {class: "x"}, "text", child). */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

// The SVG namespace, taken from the page's own inline <svg> so no URL string is needed.
let svgNS = "";

/** s builds an SVG element with createElementNS. */
export function s(tag, attrs, ...children) {
  if (!svgNS) svgNS = document.querySelector("svg").namespaceURI;
  return build(document.createElementNS(svgNS, tag), attrs, children);
}

/** clear removes every child of el. */
export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** fmtTime renders an RFC 3339 time in the browser's locale (short: without the year); "—" when empty. */
export function fmtTime(iso, short) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (isNaN(d)) return String(iso);
  return d.toLocaleString(undefined, {
    year: short ? undefined : "numeric", month: "short", day: short ? "numeric" : "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

/** fmtValue renders a claim or condition value: strings as they are, the rest as JSON. */
export function fmtValue(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "string") return v;
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) {
    return v.map((x) => JSON.stringify(x)).join(", ");
  }
  return JSON.stringify(v);
}

/** errorText is what a view shows for a failed call. */
export function errorText(err) {
  if (err && err.status === 403) return "Access denied: " + err.message;
  return (err && err.message) || String(err);
}
