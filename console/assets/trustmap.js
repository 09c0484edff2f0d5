// trustmap.js — providers → roles → what their trust policies admit, with
// each role's lint findings; a role any repository can assume is flagged.
import { api } from "./api.js";
import { h, clear, errorText } from "./dom.js";

const $ = (id) => document.getElementById(id);

function admitsTable(admits) {
  if (!admits || !admits.length) return h("p", { class: "muted" }, "Admits no repository.");
  const cell = (v) => h("td", { class: "mono" }, v ? v : h("span", { class: "muted" }, "any"));
  return h("table", { class: "admits" },
    h("thead", null, h("tr", null, ["Repository", "Environment", "Branch", "Subject"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", null, admits.map((a) => h("tr", null, cell(a.repository), cell(a.environment), cell(a.branch), cell(a.subject)))));
}

function findingsList(findings) {
  if (!findings || !findings.length) return null;
  return h("ul", { class: "findings" }, findings.map((f) => {
    const sev = String(f.severity || "info").toLowerCase();
    return h("li", { class: "finding severity-" + sev },
      h("span", { class: "badge badge-" + sev }, sev), " ",
      f.rule ? h("code", null, f.rule) : null, f.rule ? ": " : null, f.message || "");
  }));
}

function roleCard(r) {
  const cls = "role" + (r.anyRepository ? " flag-any-repository" : "");
  return h("article", { class: cls, "data-role-arn": r.arn },
    h("h3", null, r.name || r.arn,
      r.anyRepository ? [" ", h("span", { class: "flag" }, "any repository")] : null),
    h("p", { class: "arn mono" }, r.arn),
    r.anyRepository ? h("p", { class: "flag-text" }, "A token from any repository of the workspace can assume this role: narrow its trust policy's sub condition.") : null,
    admitsTable(r.admits),
    findingsList(r.findings));
}

function render(d) {
  const root = clear($("trustmap"));
  const providers = d.providers || [];
  let roles = 0, broad = 0;
  for (const p of providers) for (const r of p.roles || []) { roles++; if (r.anyRepository) broad++; }
  root.append(h("p", { class: "summary-line" },
    `${providers.length} provider${providers.length === 1 ? "" : "s"}, ${roles} role${roles === 1 ? "" : "s"}`,
    broad ? [", ", h("strong", { class: "flag" }, `${broad} assumable by any repository`)] : null));
  for (const p of providers) {
    root.append(h("section", { class: "provider", "data-arn": p.arn },
      h("h2", null, p.url || p.arn),
      h("p", { class: "arn mono" }, p.arn),
      h("p", null, "Audiences: ", (p.audiences || []).length ? h("span", { class: "mono" }, p.audiences.join(", ")) : h("span", { class: "muted" }, "none")),
      // Roles are direct children of their provider (.provider > .role).
      (p.roles || []).length ? p.roles.map(roleCard) : h("p", { class: "muted" }, "No role trusts this provider.")));
  }
  if (!providers.length) root.append(h("p", { class: "muted" }, "No identity providers are registered."));
}

let seq = 0;

/** showTrustMap loads and renders the trust map (fresh on every visit). */
export async function showTrustMap() {
  const my = ++seq;
  $("trustmap-error").textContent = "";
  if (!$("trustmap").firstChild) $("trustmap").append(h("p", { class: "muted" }, "Loading…"));
  try {
    const d = await api("trustmap");
    if (my === seq) render(d || {});
  } catch (err) {
    if (my !== seq) return;
    clear($("trustmap"));
    $("trustmap-error").textContent = errorText(err);
  }
}

/** resetTrustMap forgets what was shown (on sign-out). */
export function resetTrustMap() {
  seq++;
  clear($("trustmap"));
  $("trustmap-error").textContent = "";
}
