// Drives keyless's web console (/console/ of keyless up) in Debian's headless
// Chromium with playwright-core, for e2e/console_test.go.
//
//   node console.mjs check   sign-in refused then accepted, activity, a denial's
//                            detail, trust map, keys and explain views, each
//                            screenshotted into the artifacts directory
//   node console.mjs bench   signs in, then loads the activity view
//                            KEYLESS_CONSOLE_ITERATIONS times, each in a fresh
//                            browser context (cold cache), timing navigation
//                            start to the view rendered
//
// Input comes from the environment, never argv (a secret in argv is visible to
// every process): KEYLESS_CONSOLE_URL (…/console/), KEYLESS_CONSOLE_ACCESS_KEY_ID,
// KEYLESS_CONSOLE_SECRET_ACCESS_KEY, KEYLESS_CONSOLE_WRONG_SECRET,
// KEYLESS_CONSOLE_ARTIFACTS (screenshots), KEYLESS_CONSOLE_CAPTURE (a file that
// gets every response body the page received, as JSON lines, for the caller to
// scan for secrets), KEYLESS_CONSOLE_SESSION_FILE (gets the session cookie's
// value, for the caller to scan the server log), KEYLESS_CONSOLE_DENIED_ROLE,
// KEYLESS_CONSOLE_EXPLAIN_TOKEN and KEYLESS_CONSOLE_EXPLAIN_ROLE, and CHROMIUM
// (the browser binary). It prints one JSON object; it never prints a secret,
// token or cookie value.
import { chromium } from "playwright-core";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const env = process.env;
const mode = process.argv[2] || "check";
const base = env.KEYLESS_CONSOLE_URL;
if (!base || !["check", "bench"].includes(mode)) {
  console.error("usage: KEYLESS_CONSOLE_URL=http://127.0.0.1:8400/console/ … node console.mjs check|bench (see the comment at the top)");
  process.exit(2);
}
const origin = new URL(base).origin;
const timeout = 15000;
const result = { mode, errors: [], pageErrors: [], cspViolations: [], externalRequests: [], screenshots: [] };

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // Chromium's sandbox needs user namespaces, which root in a container lacks.
  args: process.getuid && process.getuid() === 0 ? ["--no-sandbox"] : [],
});
try {
  if (mode === "bench") await bench();
  else await check();
} catch (err) {
  result.errors.push({ step: "main", error: String(err && err.message || err) });
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));

// watch records the page's uncaught errors and Content-Security-Policy
// violations, and captures the bodies of responses from the server.
function watch(page, pending) {
  page.on("pageerror", (err) => result.pageErrors.push(String(err.message)));
  // The console works offline: nothing but its own origin (and data: URLs).
  page.on("request", (req) => {
    const u = req.url();
    if (!u.startsWith(origin + "/") && !u.startsWith("data:")) result.externalRequests.push(u);
  });
  page.on("console", (msg) => {
    if (msg.type() === "error" && /Content Security Policy/i.test(msg.text())) result.cspViolations.push(msg.text());
  });
  if (!env.KEYLESS_CONSOLE_CAPTURE) return;
  page.on("response", (resp) => {
    if (!resp.url().startsWith(origin)) return;
    if ((resp.headers()["content-type"] || "").includes("text/event-stream")) return; // never ends
    pending.push(resp.text().then(
      (body) => appendFileSync(env.KEYLESS_CONSOLE_CAPTURE, JSON.stringify({ url: resp.url(), status: resp.status(), body }) + "\n"),
      () => {},
    ));
  });
}

async function shot(page, name) {
  const path = join(env.KEYLESS_CONSOLE_ARTIFACTS, name + ".png");
  await page.screenshot({ path, fullPage: true });
  result.screenshots.push(name + ".png");
}

// step runs fn, recording its failure (with a screenshot of the page as it
// was) instead of stopping: the caller sees every step that went wrong.
async function step(page, name, fn) {
  try {
    await fn();
    await shot(page, name);
  } catch (err) {
    result.errors.push({ step: name, error: String(err && err.message || err).split("\n")[0] });
    await shot(page, name + "-failed").catch(() => {});
  }
}

// text is the visible text of loc's first element, or null when there is none.
async function text(loc) {
  return (await loc.count()) ? (await loc.first().innerText()).trim() : null;
}

async function signIn(page, secret) {
  await page.fill("#access-key-id", env.KEYLESS_CONSOLE_ACCESS_KEY_ID);
  await page.fill("#secret-access-key", secret);
  await page.click("#signin-submit");
}

async function sessionCookie(context) {
  return (await context.cookies(base)).find((c) => c.name === "keyless_console") || null;
}

async function check() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  const pending = [];
  watch(page, pending);

  await step(page, "signin", async () => {
    await page.goto(base);
    await page.waitForSelector("form#signin-form");
    result.signin = { secretType: await page.getAttribute("#secret-access-key", "type") };
  });

  await step(page, "signin-refused", async () => {
    await signIn(page, env.KEYLESS_CONSOLE_WRONG_SECRET);
    await page.waitForFunction(() => (document.querySelector("#signin-error")?.textContent || "").trim() !== "");
    result.refused = {
      error: await text(page.locator("#signin-error")),
      cookie: (await sessionCookie(context)) !== null,
      whoamiVisible: await page.locator("#whoami").isVisible().catch(() => false),
    };
  });

  await step(page, "activity", async () => {
    await signIn(page, env.KEYLESS_CONSOLE_SECRET_ACCESS_KEY);
    await page.waitForFunction(() => (document.querySelector("#whoami")?.textContent || "").trim() !== "");
    const c = await sessionCookie(context);
    if (c && env.KEYLESS_CONSOLE_SESSION_FILE) writeFileSync(env.KEYLESS_CONSOLE_SESSION_FILE, c.value, { mode: 0o600 });
    result.accepted = {
      whoami: await text(page.locator("#whoami")),
      signout: await page.locator("button#signout").count(),
      cookie: c && { httpOnly: c.httpOnly, sameSite: c.sameSite, path: c.path, secure: c.secure },
      cookieInDocument: await page.evaluate(() => document.cookie.includes("keyless_console")),
    };
    await page.waitForSelector("#activity-table tbody tr[data-event-id]");
    await page.waitForSelector("svg#activity-chart");
    await page.waitForFunction(() => document.querySelector("svg#activity-chart").querySelectorAll("rect, path").length > 0);
    result.activity = {
      hash: await page.evaluate(() => location.hash),
      chartMarks: await page.locator("svg#activity-chart").locator("rect, path").count(),
      rows: await page.$$eval("#activity-table tbody tr[data-event-id]", (trs) =>
        trs.map((tr) => ({ id: tr.dataset.eventId, decision: tr.dataset.decision, text: tr.innerText }))),
    };
  });

  // Live updates: a further (denied) exchange, made while the view is open,
  // appears at the top of the table without a reload.
  await step(page, "activity-live", async () => {
    const rows = "#activity-table tbody tr[data-event-id]";
    const before = await page.$$eval(rows, (trs) => trs.map((tr) => tr.dataset.eventId));
    await page.evaluate(() => { window.__notReloaded = true; });
    const exchange = await fetch(origin + "/", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        Action: "AssumeRoleWithWebIdentity", Version: "2011-06-15", RoleSessionName: "console-live",
        RoleArn: env.KEYLESS_CONSOLE_DENIED_ROLE || "", WebIdentityToken: env.KEYLESS_CONSOLE_EXPLAIN_TOKEN || "",
      }),
    });
    await exchange.arrayBuffer();
    await page.waitForFunction((before) => {
      const first = document.querySelector("#activity-table tbody tr[data-event-id]");
      return first && !before.includes(first.dataset.eventId);
    }, before);
    result.live = {
      exchangeStatus: exchange.status,
      notReloaded: await page.evaluate(() => window.__notReloaded === true),
      first: await page.$eval(rows, (tr) => ({ id: tr.dataset.eventId, decision: tr.dataset.decision, text: tr.innerText })),
      rows: await page.locator(rows).count(),
      before: before.length,
    };
  });

  await step(page, "decision", async () => {
    const role = env.KEYLESS_CONSOLE_DENIED_ROLE || "";
    const name = role.slice(role.lastIndexOf("/") + 1);
    const rows = page.locator("#activity-table tbody tr[data-event-id][data-decision='denied' i]");
    const named = rows.filter({ hasText: name });
    const row = (await named.count()) ? named.first() : rows.first();
    result.decisionRowId = await row.getAttribute("data-event-id");
    await row.click();
    const d = page.locator("#decision-detail");
    await d.locator(".failing-condition").waitFor();
    result.decision = {
      hash: await page.evaluate(() => location.hash),
      failingCondition: await text(d.locator(".failing-condition")),
      expected: await text(d.locator(".expected")),
      actual: await text(d.locator(".actual")),
      fix: await text(d.locator(".fix")),
      claims: await text(d.locator(".claims")),
      trustPolicy: await text(d.locator("pre.trust-policy")),
      failingHighlight: await text(d.locator("pre.trust-policy .failing")),
    };
  });

  // Filters: by decision, then by role; the table shows only what matches.
  await step(page, "activity-filtered", async () => {
    const rows = "#activity-table tbody tr[data-event-id]";
    await page.click("nav a[data-view='activity']");
    await page.waitForSelector(rows);
    const all = await page.locator(rows).count();
    await page.selectOption("#filter-decision", "denied");
    await page.waitForFunction((sel) => {
      const trs = [...document.querySelectorAll(sel)];
      return trs.length > 0 && trs.every((tr) => tr.dataset.decision.toLowerCase() === "denied");
    }, rows);
    const denied = await page.$$eval(rows, (trs) => trs.map((tr) => tr.dataset.decision));
    await page.selectOption("#filter-decision", "");
    await page.fill("#filter-role", env.KEYLESS_CONSOLE_ALLOWED_ROLE || "");
    const name = (env.KEYLESS_CONSOLE_ALLOWED_ROLE || "").split("/").pop();
    await page.waitForFunction(([sel, name]) => {
      const trs = [...document.querySelectorAll(sel)];
      return trs.length > 0 && trs.every((tr) => tr.innerText.includes(name));
    }, [rows, name]);
    result.filtered = {
      all,
      denied,
      role: await page.$$eval(rows, (trs) => trs.map((tr) => ({ decision: tr.dataset.decision, text: tr.innerText }))),
    };
  });

  await step(page, "trustmap", async () => {
    await page.click("nav a[data-view='trustmap']");
    await page.waitForSelector("#trustmap .provider[data-arn] .role[data-role-arn]");
    result.trustmap = {
      providers: await page.$$eval("#trustmap .provider[data-arn]", (ps) => ps.map((p) => p.dataset.arn)),
      roles: await page.$$eval("#trustmap .role[data-role-arn]", (rs) => rs.map((r) => ({
        arn: r.dataset.roleArn,
        flagged: r.classList.contains("flag-any-repository"),
        text: r.innerText,
        visible: r.getClientRects().length > 0,
      }))),
    };
  });

  await step(page, "keys", async () => {
    await page.click("nav a[data-view='keys']");
    await page.waitForSelector("svg#keys-timeline");
    await page.waitForSelector(".key[data-kid][data-state]");
    result.keys = {
      keys: await page.$$eval(".key[data-kid][data-state]", (ks) => ks.map((k) => ({ kid: k.dataset.kid, state: k.dataset.state }))),
      next: await text(page.locator("#keys-next")),
      staticUsers: await page.$$eval("#static-keys tr[data-user]", (trs) => trs.map((tr) => tr.dataset.user)),
    };
  });

  await step(page, "explain", async () => {
    await page.click("nav a[data-view='explain']");
    await page.waitForSelector("textarea#explain-token");
    const token = env.KEYLESS_CONSOLE_EXPLAIN_TOKEN || "";
    await page.fill("textarea#explain-token", token);
    await page.fill("input#explain-role", env.KEYLESS_CONSOLE_EXPLAIN_ROLE || "");
    await page.click("button#explain-submit");
    await page.waitForSelector("#explain-result .check[data-status]");
    const storage = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }]));
    result.explain = {
      checks: await page.$$eval("#explain-result .check[data-status]", (cs) => cs.map((c) => ({ status: c.dataset.status, text: c.innerText }))),
      tokenInURL: token !== "" && page.url().includes(token),
      tokenInStorage: token !== "" && storage.includes(token),
      tokenInCookies: token !== "" && (await context.cookies()).some((c) => c.value.includes(token)),
    };
    // The token field is the user's own input: clear it so the screenshot
    // (a test artifact) does not show a token.
    await page.fill("textarea#explain-token", "");
  });

  await Promise.race([Promise.allSettled(pending), new Promise((r) => setTimeout(r, 5000))]);
  await context.close();
}

async function bench() {
  const n = Number(env.KEYLESS_CONSOLE_ITERATIONS || "5");
  const signin = await browser.newContext();
  const resp = await signin.request.post(new URL("api/signin", base).href, {
    headers: { "X-Keyless-Console": "1", "Content-Type": "application/json", Origin: origin },
    data: { accessKeyId: env.KEYLESS_CONSOLE_ACCESS_KEY_ID, secretAccessKey: env.KEYLESS_CONSOLE_SECRET_ACCESS_KEY },
  });
  if (resp.status() !== 200) throw new Error(`sign-in answered ${resp.status()}`);
  const state = await signin.storageState();
  await signin.close();
  result.loads = [];
  result.warmLoads = [];
  for (let i = 0; i < n; i++) {
    // A fresh context per load: a cold HTTP cache, as a first visit.
    const context = await browser.newContext({ storageState: state, viewport: { width: 1280, height: 900 } });
    // Marks, in ms since the navigation started (performance.now's origin),
    // when the table's first row and the chart's first mark enter the DOM, and
    // the next frame once both are there: the view rendered.
    await context.addInitScript(() => {
      window.__marks = {};
      new MutationObserver(() => {
        const m = window.__marks;
        if (!m.rows && document.querySelector("#activity-table tbody tr[data-event-id]")) m.rows = performance.now();
        if (!m.chart && document.querySelector("svg#activity-chart rect, svg#activity-chart path")) m.chart = performance.now();
        if (m.rows && m.chart && !m.both) {
          m.both = performance.now();
          requestAnimationFrame(() => { m.rendered = performance.now(); });
        }
      }).observe(document, { childList: true, subtree: true });
    });
    const page = await context.newPage();
    page.setDefaultTimeout(timeout);
    watch(page, []);
    // Chromium's own counters of the main thread's work (script, layout,
    // style, all tasks), to tell the page's cost from the machine's load.
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");
    await page.goto(new URL("#/activity", base).href, { waitUntil: "commit" });
    result.loads.push(await rendered(page));
    // Where the time went: the document, and the API calls the view made.
    result.breakdown = result.breakdown || [];
    const { metrics } = await cdp.send("Performance.getMetrics");
    const metric = (name) => Math.round(1000 * (metrics.find((m) => m.name === name)?.value ?? 0));
    result.mainThread = result.mainThread || [];
    result.mainThread.push({ taskMs: metric("TaskDuration"), scriptMs: metric("ScriptDuration"),
      layoutMs: metric("LayoutDuration"), styleMs: metric("RecalcStyleDuration") });
    result.breakdown.push(await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      const api = performance.getEntriesByType("resource").filter((r) => r.name.includes("/console/api/"));
      return {
        rowsMs: Math.round(window.__marks.rows),
        chartMs: Math.round(window.__marks.chart),
        documentMs: nav && Math.round(nav.responseEnd),
        domContentLoadedMs: nav && Math.round(nav.domContentLoadedEventEnd),
        api: api.map((r) => ({ path: new URL(r.name).pathname, startMs: Math.round(r.startTime), ms: Math.round(r.duration) })),
      };
    }));
    if (i === 0) {
      result.rows = await page.locator("#activity-table tbody tr[data-event-id]").count();
      if (env.KEYLESS_CONSOLE_ARTIFACTS) await shot(page, "activity-100k");
    }
    // The same page loaded again: the browser's cache warm, as a return visit.
    await page.reload({ waitUntil: "commit" });
    result.warmLoads.push(await rendered(page));
    await context.close();
  }
}

// rendered waits for the activity view's rows and chart and returns when they
// were rendered (window.__marks.rendered, see bench).
async function rendered(page) {
  const ms = await page.waitForFunction(() => window.__marks && window.__marks.rendered);
  return ms.jsonValue();
}
