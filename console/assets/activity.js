// activity.js — the activity view (timeline, filters, table, live updates)
// and the decision detail a row opens.
import { api } from "./api.js";
import { h, clear, fmtTime, fmtValue, errorText } from "./dom.js";
import { activityChart } from "./chart.js";
import { renderChecks } from "./explain.js";

const $ = (id) => document.getElementById(id);
const FILTERS = ["role", "repository", "provider", "decision"];

let st = fresh();

function fresh() {
  return { loaded: "", next: "", ids: new Set(), buckets: [], bucketSeconds: 0, seq: 0, source: null, retry: 0, seen: {} };
}

function query() {
  const p = new URLSearchParams();
  p.set("since", $("filter-since").value || "24h");
  for (const k of FILTERS) {
    const v = $("filter-" + k).value.trim();
    if (v) p.set(k, v);
  }
  p.set("limit", "100");
  return p;
}

function decisionBadge(d) {
  return h("span", { class: "badge badge-" + (d || "unknown") }, d || "?");
}

// shortRole is a role ARN's name (path included), for the table; the full ARN is its title.
function shortRole(arn) {
  const m = /^arn:[^:]*:iam::[^:]*:role\/(.+)$/.exec(arn || "");
  return m ? m[1] : arn || "";
}

// cell is a table cell showing text cut to one line (or two for prose), the
// whole text in its title.
function cell(cls, text, full) {
  return h("td", { class: cls, title: full || text || null }, h("div", { class: "cut" }, text || ""));
}

function row(e) {
  const href = "#/decision/" + encodeURIComponent(e.id);
  const provider = String(e.provider || "").replace(/^arn:[^:]*:iam::[^:]*:oidc-provider\//, "");
  const reason = [e.errorCode, e.reason].filter(Boolean).join(": ");
  const tr = h("tr", { "data-event-id": e.id, "data-decision": e.decision, class: "event decision-" + e.decision },
    h("td", { class: "nowrap" }, h("a", { href, title: fmtTime(e.time) }, fmtTime(e.time, true))),
    h("td", null, decisionBadge(e.decision)),
    cell("mono", e.action),
    cell("mono", shortRole(e.role), e.role),
    cell("mono", e.repository),
    cell("mono", provider, e.provider),
    cell("mono", e.caller),
    cell("prose", reason),
  );
  // The whole row opens the decision on click; keyboard users have the time link.
  tr.addEventListener("click", (ev) => {
    if (!ev.target.closest("a") && !String(window.getSelection() || "")) location.hash = href;
  });
  return tr;
}

function remember(e) {
  for (const k of ["role", "repository", "provider"]) {
    const v = e[k];
    if (!v) continue;
    const set = (st.seen[k] ||= new Set());
    if (set.has(v) || set.size >= 200) continue;
    set.add(v);
    $("list-" + k).append(h("option", { value: v }));
  }
}

function addRows(events, prepend) {
  const tbody = $("activity-table").tBodies[0];
  const rows = [];
  for (const e of events || []) {
    if (!e || !e.id || st.ids.has(e.id)) continue;
    st.ids.add(e.id);
    remember(e);
    rows.push(row(e));
  }
  if (prepend) {
    for (const r of rows) r.classList.add("new");
    tbody.prepend(...rows);
  } else {
    tbody.append(...rows);
  }
}

function setMore(next) {
  st.next = next || "";
  $("activity-more").hidden = !st.next;
}

async function load() {
  const seq = ++st.seq;
  const q = query();
  $("activity-error").textContent = "";
  $("activity-status").textContent = "Loading…";
  try {
    const d = await api("activity?" + q.toString());
    if (seq !== st.seq) return;
    clear($("activity-table").tBodies[0]);
    st.ids.clear();
    st.buckets = d.buckets || [];
    st.bucketSeconds = d.bucketSeconds || 0;
    activityChart($("activity-chart"), st.buckets, st.bucketSeconds);
    addRows(d.events, false);
    setMore(d.next);
    st.loaded = q.toString();
    $("activity-status").textContent = (d.events || []).length ? "" : "No events match these filters.";
    startStream();
  } catch (err) {
    if (seq !== st.seq) return;
    st.loaded = "";
    $("activity-status").textContent = "";
    $("activity-error").textContent = errorText(err);
  }
}

async function loadMore() {
  if (!st.next) return;
  const seq = st.seq;
  const q = query();
  q.set("after", st.next);
  const btn = $("activity-more");
  btn.disabled = true;
  try {
    const d = await api("activity?" + q.toString());
    if (seq !== st.seq) return;
    addRows(d.events, false);
    setMore(d.next);
  } catch (err) {
    $("activity-error").textContent = errorText(err);
  } finally {
    btn.disabled = false;
  }
}

// matches reports whether a live event passes the current filters, as the
// server applies them: the role by ARN or by name, the rest exactly.
function matches(e) {
  const dec = $("filter-decision").value;
  if (dec && e.decision !== dec) return false;
  const role = $("filter-role").value.trim();
  if (role && e.role !== role && !(!role.startsWith("arn:") && String(e.role || "").endsWith(":role/" + role))) return false;
  for (const k of ["repository", "provider"]) {
    const v = $("filter-" + k).value.trim();
    if (v && e[k] !== v) return false;
  }
  return true;
}

function countInChart(e) {
  const t = Date.parse(e.time);
  const b = st.buckets;
  if (!b.length || isNaN(t) || !["allowed", "denied", "error"].includes(e.decision)) return;
  const last = b[b.length - 1];
  if (t >= Date.parse(last.start) + st.bucketSeconds * 1000) return;
  for (let i = b.length - 1; i >= 0; i--) {
    if (Date.parse(b[i].start) <= t) {
      b[i][e.decision] = (b[i][e.decision] || 0) + 1;
      activityChart($("activity-chart"), b, st.bucketSeconds);
      return;
    }
  }
}

function live(text) {
  $("activity-live").textContent = text;
}

function startStream() {
  if (st.source) return;
  clearTimeout(st.retry);
  const src = new EventSource("/console/api/activity/stream");
  st.source = src;
  src.addEventListener("open", () => live("Live: new events appear at the top."));
  src.addEventListener("audit", (ev) => {
    let e;
    try { e = JSON.parse(ev.data); } catch { return; }
    if (!e || !matches(e) || st.ids.has(e.id)) return;
    addRows([e], true);
    countInChart(e);
  });
  src.addEventListener("error", () => {
    if (src.readyState !== EventSource.CLOSED) {
      live("Live updates interrupted; reconnecting…");
      return;
    }
    // The server refused the stream (no session, or no permission): ask the
    // API, whose 401 sends the app back to sign-in; otherwise retry later.
    src.close();
    if (st.source === src) st.source = null;
    live("Live updates stopped; retrying shortly.");
    api("me").then(() => {
      st.retry = setTimeout(() => { if (st.loaded && !st.source && visible()) startStream(); }, 5000);
    }, () => {});
  });
}

function visible() {
  return !document.querySelector('[data-section="activity"]').hidden;
}

/** stopActivity closes the live stream. */
export function stopActivity() {
  clearTimeout(st.retry);
  if (st.source) st.source.close();
  st.source = null;
  live("");
}

/** resetActivity forgets everything shown (on sign-out). */
export function resetActivity() {
  stopActivity();
  st = fresh();
  clear($("activity-table").tBodies[0]);
  clear($("activity-chart"));
  for (const k of ["role", "repository", "provider"]) clear($("list-" + k));
  $("activity-more").hidden = true;
  $("activity-status").textContent = "";
  $("activity-error").textContent = "";
  clear($("decision-detail"));
}

/**
 * showActivity shows the view: kept as it is while its live stream ran (the
 * decision view keeps it running), reloaded otherwise so no event is missed.
 */
export function showActivity() {
  if (!(st.loaded && st.source && st.loaded === query().toString())) load();
}

/** initActivity wires the filters and the load-more button. */
export function initActivity() {
  const form = $("activity-filters");
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  for (const id of ["filter-since", "filter-decision"]) $(id).addEventListener("change", () => load());
  let timer = 0;
  for (const k of ["role", "repository", "provider"]) {
    $("filter-" + k).addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => load(), 350);
    });
  }
  $("activity-more").addEventListener("click", loadMore);
}

// ---- decision detail ----

// statementSpans finds, in pretty JSON text, where each statement of the
// policy's Statement begins and ends, with its Sid: a tiny position-keeping
// JSON reader, so the highlight follows the text the server sent.
function statementSpans(text) {
  let i = 0;
  const n = text.length;
  const ws = () => { while (i < n && " \t\r\n".includes(text[i])) i++; };
  const str = () => {
    const s0 = i++;
    while (i < n && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(s0, i));
  };
  const value = () => {
    ws();
    if (i >= n) throw new Error("unexpected end");
    const s0 = i, c = text[i];
    if (c === "{") {
      i++;
      const obj = {};
      ws();
      if (text[i] === "}") { i++; return { s0, e0: i, obj }; }
      for (;;) {
        ws();
        if (text[i] !== '"') throw new Error("key expected");
        const k = str();
        ws();
        if (text[i++] !== ":") throw new Error("colon expected");
        obj[k] = value();
        ws();
        const d = text[i++];
        if (d === ",") continue;
        if (d === "}") break;
        throw new Error("bad object");
      }
      return { s0, e0: i, obj };
    }
    if (c === "[") {
      i++;
      const arr = [];
      ws();
      if (text[i] === "]") { i++; return { s0, e0: i, arr }; }
      for (;;) {
        arr.push(value());
        ws();
        const d = text[i++];
        if (d === ",") continue;
        if (d === "]") break;
        throw new Error("bad array");
      }
      return { s0, e0: i, arr };
    }
    if (c === '"') { const val = str(); return { s0, e0: i, val }; }
    while (i < n && !",}] \t\r\n".includes(text[i])) i++;
    if (i === s0) throw new Error("value expected");
    return { s0, e0: i, val: text.slice(s0, i) };
  };
  try {
    const root = value();
    const stmt = root.obj && root.obj.Statement;
    if (!stmt) return [];
    const list = stmt.arr || [stmt];
    return list.map((el, index) => ({
      start: el.s0, end: el.e0, index,
      sid: el.obj && el.obj.Sid ? el.obj.Sid.val : "",
    }));
  } catch {
    return [];
  }
}

// policyBlock renders the trust policy with the failing statement's lines
// wrapped in .failing and the condition key inside it marked.
function policyBlock(text, failing) {
  const pre = h("pre", { class: "trust-policy", tabindex: "0" });
  if (!failing) { pre.textContent = text; return pre; }
  const spans = statementSpans(text);
  const name = failing.statement || "";
  let target = null;
  if (/^#\d+$/.test(name)) target = spans.find((sp) => sp.index === Number(name.slice(1)));
  else if (name) {
    let sid = name;
    try { sid = JSON.parse(name); } catch { /* an unquoted Sid */ }
    target = spans.find((sp) => sp.sid === sid);
  }
  if (!target && failing.key) target = spans.find((sp) => text.slice(sp.start, sp.end).includes(JSON.stringify(failing.key)));
  if (!target) { pre.textContent = text; return pre; }
  const a = text.lastIndexOf("\n", target.start) + 1;
  let b = text.indexOf("\n", target.end);
  if (b < 0) b = text.length;
  const inner = text.slice(a, b);
  const mark = h("span", { class: "failing" });
  const q = failing.key ? JSON.stringify(failing.key) : "";
  const k = q ? inner.indexOf(q) : -1;
  if (k >= 0) mark.append(inner.slice(0, k), h("mark", { class: "failing-key" }, q), inner.slice(k + q.length));
  else mark.textContent = inner;
  pre.append(text.slice(0, a), mark, text.slice(b));
  return pre;
}

function valueList(cls, label, v, absent) {
  let body;
  if (v === null || v === undefined) body = h("span", { class: "muted" }, absent);
  else if (Array.isArray(v)) body = v.length ? h("ul", { class: "values" }, v.map((x) => h("li", null, h("code", null, fmtValue(x))))) : h("span", { class: "muted" }, "(none)");
  else body = h("code", null, fmtValue(v));
  return h("div", { class: "kv " + cls }, h("span", { class: "kv-label" }, label), body);
}

function summary(e) {
  const items = [
    ["Time", fmtTime(e.time)], ["Action", e.action], ["Service", e.service], ["Caller", e.caller],
    ["Role", e.role], ["Repository", e.repository], ["Provider", e.provider], ["Source IP", e.sourceIp],
    ["Error code", e.errorCode], ["Reason", e.reason],
  ];
  return h("dl", { class: "summary" }, items.filter(([, v]) => v).map(([k, v]) => [h("dt", null, k), h("dd", { class: "mono" }, v)]));
}

function claimsTable(claims) {
  const keys = Object.keys(claims || {}).sort();
  if (!keys.length) return h("p", { class: "claims muted" }, "No token claims recorded for this event.");
  return h("table", { class: "claims" },
    h("thead", null, h("tr", null, h("th", { scope: "col" }, "Claim"), h("th", { scope: "col" }, "Value"))),
    h("tbody", null, keys.map((k) => h("tr", null, h("th", { scope: "row", class: "mono" }, k), h("td", { class: "mono" }, fmtValue(claims[k]))))));
}

let detailSeq = 0;

/** showDecision loads and renders the decision with the given audit event id. */
export async function showDecision(id) {
  const root = $("decision-detail");
  const seq = ++detailSeq;
  clear(root).append(h("p", { class: "muted" }, "Loading…"));
  let d;
  try {
    d = await api("decisions/" + encodeURIComponent(id));
  } catch (err) {
    if (seq !== detailSeq) return;
    clear(root).append(h("p", { class: "error", role: "alert" }, err.status === 404 ? "No such event: " + id : errorText(err)));
    return;
  }
  if (seq !== detailSeq) return;
  const e = d.event || {};
  clear(root);
  root.setAttribute("data-event-id", e.id || id);
  root.setAttribute("data-decision", e.decision || "");
  root.append(h("p", { class: "decision-line" }, decisionBadge(e.decision), " ", h("span", { class: "mono" }, e.action || ""), e.role ? [" on ", h("span", { class: "mono" }, e.role)] : null));
  root.append(summary(e));
  const f = d.failing;
  if (f) {
    root.append(h("h2", null, "Why it was denied"));
    root.append(h("div", { class: "failing-condition" },
      h("p", null, "Statement ", h("code", null, f.statement || "?"), " refused the request: condition ", h("code", { class: "condition" }, f.condition || f.key || "?")),
      f.condition && f.key && !f.condition.includes(f.key) ? h("p", null, "Condition key ", h("code", null, f.key)) : null,
      h("div", { class: "compare" },
        valueList("expected", "Expected (policy)", f.expected, "(none)"),
        valueList("actual", "Actual (request)", f.actual, "(absent from the request)"))));
  } else if (e.decision === "denied" || e.decision === "error") {
    root.append(h("h2", null, "Why"), h("p", null, e.reason || e.errorCode || "No failing condition was recorded for this event."));
  }
  if (d.fix) root.append(h("p", { class: "fix" }, h("strong", null, "Fix: "), d.fix));
  if (d.checks && d.checks.length) root.append(h("h2", null, "Checks"), renderChecks(d.checks));
  root.append(h("h2", null, "Token claims"), claimsTable(d.claims));
  if (d.trustPolicy) root.append(h("h2", null, "Trust policy"), policyBlock(d.trustPolicy, f));
}
