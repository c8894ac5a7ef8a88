// The merchant dashboard in a real browser (Debian's chromium through
// playwright-core), against the real api that tests/tests/dashboard_browser.rs
// started and filled with real traffic. It is told everything in the
// environment variable CARTBACK_BROWSER (JSON, see `config` below), prints one
// line per check, and exits non-zero at the first failure.
//
// Checks: signed-out requests go to the sign-in page; the owner signs in; the
// overview's figures equal GET /api/v1/analytics for 7 and 30 days, today,
// this month, this year and for chosen dates; the chart is drawn (its script
// runs under the CSP); assets are cached for a year; the first load of the
// overview and the carts page is under 150 KB and a second load fetches no
// asset again; a form without the CSRF token, or from another origin, gets
// 403; a viewer gets 403 on a change; another shop's user gets 404 on this
// shop's cart; logout ends the session on the server; no serious or critical
// axe-core violation on any page; screenshots at 1280x800 and 375x812.

import { mkdirSync } from "node:fs";
import assert from "node:assert/strict";

import { DESKTOP, harness } from "./common.mjs";

const config = JSON.parse(process.env.CARTBACK_BROWSER ?? "{}");
// {
//   base, secretKey, label, toolsDir, chromium, screenshots, docsImage (or null),
//   owner: {email, password}, viewer: {email, password}, stranger: {email, password},
//   shopCartId, strangerCartId
// }
const { chromium, ok, axeCheck, shoot: shootBoth, signIn, checks } = harness(config);

// The README's picture is the overview at desktop width, when asked for.
const shoot = (page, name) =>
  shootBoth(page, name, {
    onDesktop: async (shot) => {
      if (name === "overview" && config.docsImage) {
        await shot.screenshot({ path: config.docsImage, fullPage: false });
      }
    },
  });

async function api(path) {
  const response = await fetch(config.base + path, { headers: { "X-API-Key": config.secretKey } });
  assert.equal(response.status, 200, `${path}: ${response.status}`);
  return response.json();
}

// Figures as the dashboard writes them (crate cartback-dashboard, format.rs).
const count = (n) => n.toLocaleString("en-US");
const percent = (rate) => `${(rate * 100).toFixed(1)}%`;
const rate = (part, whole) => (whole === 0 ? 0 : Math.round((part / whole) * 10000) / 10000);

async function metric(page, name) {
  return (await page.locator(`[data-metric="${name}"]`).first().innerText()).trim();
}

async function amounts(page, name) {
  return page.locator(`[data-metric="${name}"] li`).evaluateAll((items) =>
    items.map((li) => ({ currency: li.dataset.currency, amountMinor: Number(li.dataset.minor), text: li.textContent.trim() })),
  );
}

async function compareOverview(page, query, what) {
  await page.goto(`${config.base}/dashboard${query}`);
  const report = await api(`/api/v1/analytics${query}`);
  const summary = report.summary;
  assert.equal(await metric(page, "abandoned"), count(summary.abandoned), `${what}: abandoned`);
  assert.equal(await metric(page, "recovered"), count(summary.recovered), `${what}: recovered`);
  assert.equal(await metric(page, "recoveryRate"), percent(summary.recoveryRate), `${what}: recovery rate`);
  for (const [name, expected] of [["abandonedValue", summary.abandonedValue], ["recoveredRevenue", summary.recoveredRevenue]]) {
    const shown = await amounts(page, name);
    assert.deepEqual(
      shown.map(({ currency, amountMinor }) => ({ currency, amountMinor })),
      expected.map(({ currency, amountMinor }) => ({ currency, amountMinor })),
      `${what}: ${name}`,
    );
    for (let i = 0; i < expected.length; i++) {
      const digits = shown[i].text.replace(/[^0-9.]/g, "");
      assert.equal(digits, expected[i].amount, `${what}: ${name} text ${shown[i].text}`);
    }
  }
  const sent = report.funnel.reduce((sum, step) => sum + step.sent, 0);
  const clicked = report.funnel.reduce((sum, step) => sum + step.clicked, 0);
  assert.equal(await metric(page, "emailsSent"), count(sent), `${what}: emails sent`);
  assert.equal(await metric(page, "clickRate"), percent(rate(clicked, sent)), `${what}: click rate`);
  const steps = await page.locator(".funnel-step").evaluateAll((items) =>
    items.map((li) => ({
      step: Number(li.dataset.step),
      sent: li.querySelector('[data-metric="sent"]').firstChild.textContent.trim(),
      clicked: li.querySelector('[data-metric="clicked"]').firstChild.textContent.trim(),
      recovered: li.querySelector('[data-metric="recovered"]').firstChild.textContent.trim(),
    })),
  );
  assert.deepEqual(
    steps,
    report.funnel.map((s) => ({ step: s.step, sent: count(s.sent), clicked: count(s.clicked), recovered: count(s.recovered) })),
    `${what}: funnel`,
  );
  const days = await page.locator(".chart-table tbody tr").count();
  assert.equal(days, report.daily.length, `${what}: one row per day`);
  const chartData = JSON.parse(await page.locator(".js-daily-chart").getAttribute("data-chart"));
  assert.deepEqual(chartData.days, report.daily.map((d) => d.date), `${what}: chart days`);
  assert.deepEqual(chartData.abandoned, report.daily.map((d) => d.abandoned), `${what}: chart abandoned`);
  assert.deepEqual(chartData.recovered, report.daily.map((d) => d.recovered), `${what}: chart recovered`);
  ok(`overview ${query || "(default)"} equals /api/v1/analytics: ${summary.abandoned} abandoned, ${summary.recovered} recovered, ${sent} sent`);
  return report;
}

async function csrfToken(page) {
  return page.locator('input[name="csrf"]').first().inputValue();
}

// Loads `path` in `page` and counts, through the DevTools protocol, the bytes
// received over the network (headers included) and the assets that did not
// come from the browser's cache.
async function measuredLoad(page, cdp, path) {
  const seen = new Map();
  let bytes = 0;
  const onResponse = (event) => {
    const { url, fromDiskCache, fromMemoryCache } = event.response;
    // Chromium may say "served from cache" before or after the response.
    const known = seen.get(event.requestId) ?? {};
    seen.set(event.requestId, { url, cached: Boolean(known.cached || fromDiskCache || fromMemoryCache) });
  };
  const onCached = (event) => {
    const known = seen.get(event.requestId) ?? {};
    seen.set(event.requestId, { ...known, cached: true });
  };
  const onFinished = (event) => {
    bytes += event.encodedDataLength;
  };
  cdp.on("Network.responseReceived", onResponse);
  cdp.on("Network.requestServedFromCache", onCached);
  cdp.on("Network.loadingFinished", onFinished);
  await page.goto(config.base + path, { waitUntil: "networkidle" });
  cdp.off("Network.responseReceived", onResponse);
  cdp.off("Network.requestServedFromCache", onCached);
  cdp.off("Network.loadingFinished", onFinished);
  const fromNetwork = [...seen.values()]
    .filter((entry) => entry.url?.includes("/dashboard/assets/") && !entry.cached)
    .map((entry) => new URL(entry.url).pathname);
  return { bytes, fromNetwork };
}

async function main() {
  mkdirSync(config.screenshots, { recursive: true });
  const browser = await chromium.launch({ executablePath: config.chromium, args: ["--no-sandbox"] });
  try {
    // Signed out: every page leads to the sign-in page.
    const anonymous = await browser.newContext({ viewport: DESKTOP });
    const visitor = await anonymous.newPage();
    await visitor.goto(`${config.base}/dashboard`);
    assert.equal(new URL(visitor.url()).pathname, "/dashboard/login");
    const redirected = await visitor.request.get(`${config.base}/dashboard/team`, { maxRedirects: 0 });
    assert.equal(redirected.status(), 303);
    assert.equal(redirected.headers()["location"], "/dashboard/login?next=/dashboard/team");
    const cartRedirect = await visitor.request.get(`${config.base}/dashboard/carts/${config.shopCartId}`, { maxRedirects: 0 });
    assert.equal(cartRedirect.status(), 303);
    ok("signed-out requests are sent to /dashboard/login");
    const loginResponse = await visitor.request.get(`${config.base}/dashboard/login`);
    const csp = loginResponse.headers()["content-security-policy"];
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    ok("pages carry a strict Content-Security-Policy");
    await visitor.goto(`${config.base}/dashboard/login`);
    await axeCheck(visitor, "sign-in");
    await shoot(visitor, "login");
    // A wrong password is refused with a message, not a session.
    await visitor.getByLabel("Email").fill(config.owner.email);
    await visitor.getByLabel("Password").fill("not the password");
    await visitor.getByRole("button", { name: "Sign in" }).click();
    await visitor.getByRole("alert").waitFor();
    assert.equal(new URL(visitor.url()).pathname, "/dashboard/login");
    ok("a wrong password is refused");
    await anonymous.close();

    // The owner.
    const owner = await signIn(browser, config.owner);
    const cookies = await owner.context.cookies();
    const session = cookies.find((c) => c.name === "cartback_session");
    assert.ok(session, "a session cookie");
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, "Lax");
    assert.equal(session.path, "/dashboard");
    ok("signed in; the cookie is HttpOnly, SameSite=Lax, scoped to /dashboard");

    const page = owner.page;
    await compareOverview(page, "?period=30d", "30 days");
    const week = await compareOverview(page, "?period=7d", "7 days");
    await compareOverview(page, "?period=today", "today");
    await compareOverview(page, "?period=month", "this month");
    await compareOverview(page, "?period=year", "this year");
    await page.locator('nav.segmented a[aria-current="true"]', { hasText: "This year" }).waitFor();
    await compareOverview(page, `?startDate=${week.period.startDate}&endDate=${week.period.endDate}`, "chosen dates");
    await page.goto(`${config.base}/dashboard`);
    await page.locator(".js-daily-chart .uplot canvas").first().waitFor();
    ok("the daily chart is drawn by the embedded uPlot under the CSP");
    const assetUrl = await page.locator('link[rel="stylesheet"]').last().getAttribute("href");
    assert.match(assetUrl, /^\/dashboard\/assets\/dashboard\.[0-9a-f]{12}\.css$/);
    const asset = await page.request.get(config.base + assetUrl);
    assert.equal(asset.headers()["cache-control"], "public, max-age=31536000, immutable");
    ok("assets have content-hashed names and a year of immutable caching");

    // First load in a fresh browser (signed in without loading a page): the
    // overview and then the carts page, every byte over the wire counted by
    // Chromium itself; then both again, and no asset comes from the network.
    const fresh = await browser.newContext({ viewport: DESKTOP });
    const signedIn = await fresh.request.post(`${config.base}/dashboard/login`, {
      form: { email: config.owner.email, password: config.owner.password, next: "/dashboard" },
      headers: { Origin: config.base },
      maxRedirects: 0,
    });
    assert.equal(signedIn.status(), 303);
    const tab = await fresh.newPage();
    const cdp = await fresh.newCDPSession(tab);
    await cdp.send("Network.enable");
    const firstLoads = {};
    for (const [name, path] of [["overview", "/dashboard"], ["carts", "/dashboard/carts"]]) {
      firstLoads[name] = await measuredLoad(tab, cdp, path);
      assert.ok(firstLoads[name].bytes < 150 * 1024, `${name}: ${firstLoads[name].bytes} bytes on first load`);
    }
    assert.ok(firstLoads.overview.fromNetwork.length >= 3, "the first load fetched the assets");
    for (const path of ["/dashboard", "/dashboard/carts"]) {
      const again = await measuredLoad(tab, cdp, path);
      assert.deepEqual(again.fromNetwork, [], `${path}: assets fetched again`);
    }
    await fresh.close();
    const kb = (n) => (n / 1024).toFixed(1);
    ok(`first load under 150 KB: overview ${kb(firstLoads.overview.bytes)} KB, then carts ${kb(firstLoads.carts.bytes)} KB; no asset fetched again`);
    await axeCheck(page, "overview");
    await shoot(page, "overview");

    await page.goto(`${config.base}/dashboard/carts/${config.shopCartId}`);
    assert.equal((await page.locator("#cart-status").textContent()).trim(), "recovered");
    await axeCheck(page, "cart");
    await shoot(page, "cart");

    await page.goto(`${config.base}/dashboard/team`);
    await axeCheck(page, "team");
    await shoot(page, "team");

    for (const section of ["carts", "recovery", "emails", "sending", "webhooks", "suppressions", "developers", "team"]) {
      const response = await page.goto(`${config.base}/dashboard/${section}`);
      assert.equal(response.status(), 200, section);
      assert.equal(await page.getByText("Coming soon").count(), 0, `${section} is still a placeholder`);
    }
    ok("every section of the navigation is built (none says coming soon)");

    // Changes need the session's CSRF token and our own origin.
    const token = await csrfToken(page);
    const invite = (form, origin) =>
      page.request.post(`${config.base}/dashboard/team/invite`, { form, headers: { Origin: origin }, maxRedirects: 0 });
    let response = await invite({ email: "csrf@example.com", role: "viewer" }, config.base);
    assert.equal(response.status(), 403, "no CSRF token");
    response = await invite({ csrf: "x".repeat(32), email: "csrf@example.com", role: "viewer" }, config.base);
    assert.equal(response.status(), 403, "a wrong CSRF token");
    response = await invite({ csrf: token, email: "csrf@example.com", role: "viewer" }, "https://evil.example");
    assert.equal(response.status(), 403, "another origin");
    ok("a form POST without the CSRF token, or from another origin, gets 403");
    // The same form done right works: the invitation's one-time link.
    await page.goto(`${config.base}/dashboard/team`);
    await page.getByLabel("Email").fill("new.colleague@example.com");
    await page.getByLabel("Role").selectOption("viewer");
    await page.getByRole("button", { name: "Create sign-in link" }).click();
    const link = await page.locator("#invite-link").inputValue();
    assert.match(link, /\/dashboard\/login\/link\/[0-9A-Za-z]{43}$/);
    ok("the owner invites a colleague and gets a one-time sign-in link");
    // The link signs the colleague in once.
    const colleague = await browser.newContext({ viewport: DESKTOP });
    const colleaguePage = await colleague.newPage();
    await colleaguePage.goto(link.replace(/^https?:\/\/[^/]+/, config.base));
    await axeCheck(colleaguePage, "sign-in link");
    await colleaguePage.getByRole("button", { name: "Continue to the dashboard" }).click();
    await colleaguePage.waitForURL(`${config.base}/dashboard`);
    await colleague.clearCookies();
    await colleaguePage.goto(link.replace(/^https?:\/\/[^/]+/, config.base));
    await colleaguePage.getByRole("button", { name: "Continue to the dashboard" }).click();
    await colleaguePage.waitForLoadState();
    assert.match(await colleaguePage.locator("h1").innerText(), /did not work/);
    ok("a sign-in link works once");
    await colleague.close();

    // A viewer reads but changes nothing.
    const viewer = await signIn(browser, config.viewer);
    const viewerToken = await csrfToken(viewer.page);
    response = await viewer.page.request.post(`${config.base}/dashboard/team/invite`, {
      form: { csrf: viewerToken, email: "viewer-invite@example.com", role: "owner" },
      headers: { Origin: config.base },
      maxRedirects: 0,
    });
    assert.equal(response.status(), 403);
    const removeAction = await page.locator("form[action$='/remove']").first().getAttribute("action");
    response = await viewer.page.request.post(config.base + removeAction, {
      form: { csrf: viewerToken },
      headers: { Origin: config.base },
      maxRedirects: 0,
    });
    assert.equal(response.status(), 403);
    ok("a viewer gets 403 on every change");
    await viewer.context.close();

    // Another shop's user sees nothing of this shop.
    const stranger = await signIn(browser, config.stranger);
    response = await stranger.page.goto(`${config.base}/dashboard/carts/${config.shopCartId}`);
    assert.equal(response.status(), 404);
    response = await stranger.page.goto(`${config.base}/dashboard/carts/${config.strangerCartId}`);
    assert.equal(response.status(), 200);
    const strangerToken = await csrfToken(stranger.page);
    response = await stranger.page.request.post(config.base + removeAction, {
      form: { csrf: strangerToken },
      headers: { Origin: config.base },
      maxRedirects: 0,
    });
    assert.equal(response.status(), 404);
    ok("a user of another shop gets 404 on this shop's cart and user");
    await stranger.context.close();

    // Logout ends the session on the server: the old cookie is worthless.
    const before = (await owner.context.cookies()).find((c) => c.name === "cartback_session");
    await page.goto(`${config.base}/dashboard`);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${config.base}/dashboard/login`);
    const replay = await fetch(`${config.base}/dashboard`, { headers: { Cookie: `cartback_session=${before.value}` }, redirect: "manual" });
    assert.equal(replay.status, 303);
    ok("logout ends the session on the server");

    assert.deepEqual(owner.problems, [], "no script error or CSP violation in the console");
    ok("no console error or CSP violation");
    await owner.context.close();
  } finally {
    await browser.close();
  }
  console.log(`[${config.label}] all ${checks()} browser checks passed`);
}

main().catch((error) => {
  console.error(`not ok [${config.label}] ${error.stack || error}`);
  process.exit(1);
});
