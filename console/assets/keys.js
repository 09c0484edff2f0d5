// keys.js — signing keys on a time axis with the next scheduled event, and the
// static access keys' rotation table.
import { api } from "./api.js";
import { h, clear, fmtTime, errorText } from "./dom.js";
import { keysTimeline } from "./chart.js";

const $ = (id) => document.getElementById(id);

function relative(iso) {
  const t = Date.parse(iso);
  if (isNaN(t)) return "";
  const d = t - Date.now();
  const abs = Math.abs(d);
  const [n, unit] = abs >= 86400e3 ? [abs / 86400e3, "day"] : abs >= 3600e3 ? [abs / 3600e3, "hour"] : [abs / 60e3, "minute"];
  const r = Math.round(n);
  const txt = `${r} ${unit}${r === 1 ? "" : "s"}`;
  return d >= 0 ? `in ${txt}` : `${txt} ago`;
}

function age(v) {
  if (typeof v === "number") {
    const days = Math.floor(v / 86400);
    return days >= 1 ? `${days} d` : `${Math.floor(v / 3600)} h`;
  }
  return v || "—";
}

function render(d) {
  const signing = d.signing || [];
  keysTimeline($("keys-timeline"), signing, d.next);
  const next = $("keys-next");
  clear(next);
  if (d.next && d.next.at) {
    next.append(h("strong", null, "Next scheduled event: "), d.next.event || "", " ",
      h("time", { datetime: d.next.at }, fmtTime(d.next.at)), " (" + relative(d.next.at) + ")");
  } else {
    next.append("No key event is scheduled.");
  }
  const sk = clear($("signing-keys").tBodies[0]);
  for (const k of signing) {
    sk.append(h("tr", { class: "key-row state-" + k.state },
      h("td", { class: "mono" }, k.kid), h("td", null, k.alg || ""),
      h("td", null, h("span", { class: "badge badge-" + k.state }, k.state)),
      h("td", null, fmtTime(k.createdAt)), h("td", null, fmtTime(k.activatesAt)),
      h("td", null, fmtTime(k.retiredAt)), h("td", null, fmtTime(k.notAfter))));
  }
  if (!signing.length) sk.append(h("tr", null, h("td", { colspan: "7", class: "muted" }, "No signing keys.")));
  const st = clear($("static-keys").tBodies[0]);
  for (const k of d.static || []) {
    const rot = String(k.rotation || "");
    const slug = rot.toLowerCase().replace(/[^a-z0-9]+/g, "-").slice(0, 40);
    st.append(h("tr", { "data-user": k.user },
      h("td", { class: "mono" }, k.user), h("td", { class: "mono" }, k.accessKeyId),
      h("td", null, k.status || ""), h("td", null, fmtTime(k.createdAt)),
      h("td", null, k.lastUsedAt ? fmtTime(k.lastUsedAt) : "never"), h("td", null, age(k.age)),
      h("td", { class: "rotation rotation-" + slug }, rot || "—")));
  }
  if (!(d.static || []).length) st.append(h("tr", null, h("td", { colspan: "7", class: "muted" }, "No static access keys.")));
}

let seq = 0;

/** showKeys loads and renders the keys view. */
export async function showKeys() {
  const my = ++seq;
  $("keys-error").textContent = "";
  try {
    const d = await api("keys");
    if (my === seq) render(d || {});
  } catch (err) {
    if (my === seq) $("keys-error").textContent = errorText(err);
  }
}

/** resetKeys forgets what was shown (on sign-out). */
export function resetKeys() {
  seq++;
  clear($("keys-timeline"));
  clear($("keys-next"));
  clear($("signing-keys").tBodies[0]);
  clear($("static-keys").tBodies[0]);
  $("keys-error").textContent = "";
}
