// app.js — the console's entry: sign-in and sign-out, the session, and the
// hash router (#/activity, #/decision/<id>, #/trustmap, #/keys, #/explain).
import { api, events } from "./api.js";
import { initActivity, showActivity, stopActivity, resetActivity, showDecision } from "./activity.js";
import { showTrustMap, resetTrustMap } from "./trustmap.js";
import { showKeys, resetKeys } from "./keys.js";
import { initExplain, showExplain, resetExplain } from "./explain.js";

const $ = (id) => document.getElementById(id);
const TITLES = { activity: "Activity", decision: "Decision", trustmap: "Trust map", keys: "Keys", explain: "Explain" };

let me = null;
let expiryTimer = 0;
let activityScroll = 0;

function forget() {
  clearTimeout(expiryTimer);
  resetActivity();
  resetTrustMap();
  resetKeys();
  resetExplain();
  $("whoami").textContent = "";
}

function showSignin(message) {
  me = null;
  forget();
  $("boot").hidden = true;
  $("app").hidden = true;
  $("nav").hidden = true;
  $("session").hidden = true;
  $("signin").hidden = false;
  $("secret-access-key").value = "";
  $("signin-error").textContent = message || "";
  document.title = "Sign in — keyless console";
  $("access-key-id").focus();
}

function showApp(session) {
  me = session;
  $("whoami").textContent = session.arn || session.account || "";
  $("boot").hidden = true;
  $("signin").hidden = true;
  $("nav").hidden = false;
  $("session").hidden = false;
  $("app").hidden = false;
  clearTimeout(expiryTimer);
  const left = Date.parse(session.expiresAt) - Date.now();
  if (left > 0 && left < 2 ** 31 - 1) {
    // At expiry, ask the server: its 401 brings the sign-in back.
    expiryTimer = setTimeout(() => api("me").catch(() => {}), left + 1000);
  }
  route(null);
}

function route(ev) {
  if (!me) return;
  const m = /^#\/(activity|decision|trustmap|keys|explain)(?:\/(.*))?$/.exec(location.hash);
  if (!m) {
    history.replaceState(null, "", "#/activity");
  }
  const view = m ? m[1] : "activity";
  for (const sec of document.querySelectorAll("[data-section]")) {
    sec.hidden = sec.getAttribute("data-section") !== view;
  }
  for (const a of document.querySelectorAll("nav a[data-view]")) {
    const cur = a.getAttribute("data-view") === view || (view === "decision" && a.getAttribute("data-view") === "activity");
    if (cur) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = TITLES[view] + " — keyless console";
  if (ev) {
    // Navigation by the user: start the new view at its top (the activity list
    // where it was left), and move focus to its heading for screen readers.
    const heading = document.querySelector(`[data-section="${view}"] h1`);
    if (heading) heading.focus({ preventScroll: true });
    window.scrollTo(0, view === "activity" ? activityScroll : 0);
  }
  if (view !== "activity" && view !== "decision") activityScroll = 0;
  // The decision view keeps the activity stream, so going back misses nothing.
  if (view !== "activity" && view !== "decision") stopActivity();
  switch (view) {
    case "activity": showActivity(); break;
    case "decision": {
      let id = m[2] || "";
      try { id = decodeURIComponent(id); } catch { /* keep as is */ }
      showDecision(id);
      break;
    }
    case "trustmap": showTrustMap(); break;
    case "keys": showKeys(); break;
    case "explain": showExplain(); break;
  }
}

async function signin(ev) {
  ev.preventDefault();
  const btn = $("signin-submit");
  const accessKeyId = $("access-key-id").value.trim();
  const secretAccessKey = $("secret-access-key").value;
  $("signin-error").textContent = "";
  if (!accessKeyId || !secretAccessKey) {
    $("signin-error").textContent = "Enter both the access key ID and the secret access key.";
    return;
  }
  btn.disabled = true;
  try {
    const session = await api("signin", { accessKeyId, secretAccessKey });
    $("secret-access-key").value = "";
    showApp(session || {});
  } catch (err) {
    let msg = err.message;
    if (err.code === "InvalidCredentials") msg = "Sign-in failed: " + (err.message || "the access key ID or secret access key is wrong.");
    else if (err.code === "WrongAccount") msg = "This key belongs to another account: " + err.message;
    $("signin-error").textContent = msg;
    $("secret-access-key").select();
  } finally {
    btn.disabled = false;
  }
}

async function signout() {
  try {
    await api("signout", {});
  } catch {
    // Signed out already or unreachable: forget locally either way.
  }
  showSignin("");
}

async function start() {
  $("signin-form").addEventListener("submit", signin);
  $("signout").addEventListener("click", signout);
  initActivity();
  initExplain();
  events.addEventListener("unauthenticated", () => {
    if (me) showSignin("Your session has ended. Sign in again.");
  });
  window.addEventListener("hashchange", (ev) => {
    if (/^#\/decision\//.test(location.hash) && /^#\/activity/.test(new URL(ev.oldURL).hash)) activityScroll = window.scrollY;
    route(ev);
  });
  try {
    showApp((await api("me")) || {});
  } catch (err) {
    showSignin(err.status === 401 ? "" : err.message);
  }
}

start();
