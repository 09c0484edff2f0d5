// explain.js — the explain playground and the PASS/FAIL check list it shares
// with the decision view. The token lives only in the textarea: it is never
// put in storage or in the URL, and it is cleared on sign-out.
import { api } from "./api.js";
import { h, clear, fmtValue, errorText } from "./dom.js";

const $ = (id) => document.getElementById(id);

function field(cls, label, v) {
  if (v === null || v === undefined || v === "") return null;
  const text = Array.isArray(v) ? "[" + v.map((x) => JSON.stringify(x)).join(", ") + "]" : fmtValue(v);
  return [h("dt", null, label), h("dd", { class: cls }, text)];
}

/**
 * renderChecks renders checks as `keyless explain` prints them: status and
 * title, then expected, actual and fix for a check that did not pass.
 * Accepts explain's {id,status,title,expected,actual,fix} and the decision
 * API's {name,status,detail}.
 */
export function renderChecks(checks) {
  return h("ol", { class: "checks" }, (checks || []).map((c) => {
    const status = String(c.status || "").toUpperCase();
    const pass = status === "PASS";
    const extra = [];
    // Classes differ from the decision view's .expected/.actual/.fix so each
    // of those names one element there.
    if (!pass) extra.push(field("check-expected mono", "expected:", c.expected));
    if (!pass || c.id === "issuer") extra.push(field("check-actual mono", "actual:", c.actual));
    if (!pass) extra.push(field("check-fix", "fix:", c.fix));
    if (c.detail) extra.push(field("check-detail", "detail:", c.detail));
    const dl = extra.filter(Boolean);
    return h("li", { class: "check status-" + status.toLowerCase(), "data-status": status },
      h("span", { class: "status" }, status || "?"), " ",
      h("span", { class: "check-title" }, c.title || c.name || c.id || ""),
      dl.length ? h("dl", null, dl) : null);
  }));
}

const VERDICTS = {
  ADMITTED: "STS would return credentials for this token.",
  DENIED: "STS would refuse this token.",
};

function renderReport(r) {
  const out = [h("p", { class: "question" }, "Would this token assume ", h("code", null, r.roleArn || ""), "?"), renderChecks(r.checks)];
  const v = r.verdict || (r.admitted ? "ADMITTED" : "DENIED");
  let text = VERDICTS[v] || "";
  if (v === "UNDETERMINED") text = "STS's answer depends on " + (r.unknown || []).join(" and ") + ", which explain does not know.";
  out.push(h("p", { class: "verdict verdict-" + v.toLowerCase(), "data-verdict": v }, h("strong", null, "Result: " + v), " — " + text));
  return out;
}

let rolesLoaded = false;

async function loadRoles() {
  if (rolesLoaded) return;
  rolesLoaded = true;
  try {
    const d = await api("trustmap");
    const list = $("explain-roles");
    const seen = new Set();
    for (const p of d.providers || []) for (const r of p.roles || []) {
      if (seen.has(r.arn)) continue;
      seen.add(r.arn);
      list.append(h("option", { value: r.arn }, r.name || r.arn));
    }
  } catch {
    rolesLoaded = false; // the trust map is optional here: typing an ARN works
  }
}

/** showExplain prepares the playground. */
export function showExplain() {
  loadRoles();
}

/** resetExplain clears the token, the result and the role suggestions (on sign-out). */
export function resetExplain() {
  $("explain-token").value = "";
  $("explain-role").value = "";
  clear($("explain-result"));
  clear($("explain-roles"));
  rolesLoaded = false;
}

/** initExplain wires the form. */
export function initExplain() {
  const btn = $("explain-submit");
  $("explain-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const token = $("explain-token").value.trim();
    const roleArn = $("explain-role").value.trim();
    const out = clear($("explain-result"));
    if (!token || !roleArn) {
      out.append(h("p", { class: "error", role: "alert" }, !token ? "Paste a token first." : "Enter the role's ARN."));
      return;
    }
    btn.disabled = true;
    out.setAttribute("aria-busy", "true");
    try {
      const r = await api("explain", { token, roleArn });
      clear(out).append(...renderReport(r || {}));
    } catch (err) {
      clear(out).append(h("p", { class: "error", role: "alert" }, errorText(err)));
    } finally {
      btn.disabled = false;
      out.removeAttribute("aria-busy");
    }
  });
  $("explain-clear").addEventListener("click", () => {
    $("explain-token").value = "";
    clear($("explain-result"));
    $("explain-token").focus();
  });
}
