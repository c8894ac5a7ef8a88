// The dashboard's Carts, Webhooks and Suppressions pages in a real browser
// (Debian's chromium through playwright-core), against the real api that
// tests/tests/api/dashboard_browser.rs (carts_pages_in_a_browser) started and
// filled with real traffic: three carts emailed by the worker, a webhook
// endpoint whose deliveries fail. Configuration arrives in CARTBACK_BROWSER
// (JSON, see `config`); one line per check; non-zero exit at the first failure.
//
// Checks: find a cart by email, open its timeline and see its email's
// preview; stop recovery and erase from the page, checked through the API;
// create a webhook endpoint and see its secret once; deliveries show their
// attempts and errors; add and remove a suppression; a viewer is refused
// every change; no serious or critical axe-core violation; screenshots of
// every page at 1280x800 and 375x812.

import { mkdirSync } from "node:fs";
import assert from "node:assert/strict";

import { DESKTOP, PHONE, harness } from "./common.mjs";

const config = JSON.parse(process.env.CARTBACK_BROWSER ?? "{}");
// { base, secretKey, label, toolsDir, chromium, screenshots,
//   owner: {email, password}, viewer: {email, password}, annCartId, boCartId, cyCartId }
const { chromium, ok, axeCheck, shoot: shootBoth, signIn, checks } = harness(config);
// Every page of these checks must fit a phone's width.
const shoot = (page, name) => shootBoth(page, name, { phoneFits: true });

async function api(method, path) {
  const response = await fetch(config.base + path, { method, headers: { "X-API-Key": config.secretKey } });
  return { status: response.status, body: await response.json().catch(() => null) };
}

async function main() {
  mkdirSync(config.screenshots, { recursive: true });
  const browser = await chromium.launch({ executablePath: config.chromium, args: ["--no-sandbox"] });
  try {
    const owner = await signIn(browser, config.owner);
    const page = owner.page;

    // The list: every cart, then found by its shopper's address.
    await page.goto(`${config.base}/dashboard/carts`);
    assert.equal(await page.locator("table.carts-table tbody tr").count(), 3);
    await axeCheck(page, "carts");
    await shoot(page, "carts");
    await page.getByLabel("Customer email").fill("ANN@example.com");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/email=ANN%40example.com/);
    const rows = page.locator("table.carts-table tbody tr");
    assert.equal(await rows.count(), 1);
    ok("a cart is found by its shopper's email (any case); the filter is in the URL");
    const bad = await page.goto(`${config.base}/dashboard/carts?from=2026-02-30`);
    assert.equal(bad.status(), 422);
    assert.match(await page.locator("#filter-from-error").innerText(), /date/);
    ok("a wrong filter is a 422 with the error beside its field");

    // The cart: its timeline and its email's preview.
    await page.goto(`${config.base}/dashboard/carts?email=ann%40example.com`);
    await page.locator("table.carts-table tbody tr a.record-link").first().click();
    await page.waitForURL(`${config.base}/dashboard/carts/${config.annCartId}`);
    assert.equal((await page.locator("h1").innerText()).trim(), "ann@example.com");
    const kinds = await page.locator(".timeline > li").evaluateAll((items) => items.map((li) => li.dataset.kind));
    for (const kind of ["created", "event-abandoned", "email", "webhook"]) {
      assert.ok(kinds.includes(kind), `the timeline has ${kind}: ${kinds}`);
    }
    ok(`the timeline lists events, the email and webhook deliveries (${kinds.length} entries)`);
    await page.getByText("Preview email 1").click();
    const preview = page.frameLocator("iframe.preview-frame").first();
    await preview.locator("body").getByText("Product").first().waitFor();
    const framed = await page.request.get(await page.locator("iframe.preview-frame").first().evaluate((f) => f.src));
    assert.equal(framed.status(), 200);
    assert.match(framed.headers()["content-security-policy"], /sandbox/);
    assert.doesNotMatch(framed.headers()["content-security-policy"], /script-src/);
    ok("the email's rendered preview shows in a sandboxed frame whose policy allows no script");
    const restore = await page.locator("#restore-link").inputValue();
    assert.match(restore, /^https:\/\/shop\.example\/cart\?session_id=sess-ann&cart_token=[A-Za-z0-9_-]{43}$/);
    await page.getByRole("button", { name: "Copy" }).waitFor();
    ok("the restore link is shown with a Copy button (script from an asset, under the CSP)");
    await axeCheck(page, "cart");
    await shoot(page, "cart");
    await page.setViewportSize(PHONE);
    assert.ok(await preview.locator("body").getByText("Product").first().isVisible(), "the preview on a phone");
    await page.setViewportSize(DESKTOP);
    ok("the email preview renders at phone width too");

    // A payment link from Stripe (a stub here), shown with a Copy button.
    await page.goto(`${config.base}/dashboard/carts/${config.boCartId}`);
    await page.getByRole("button", { name: "Create payment link" }).click();
    assert.equal(await page.locator("#payment-link").inputValue(), "https://checkout.stripe.com/c/pay/cs_test_dash");
    ok("a payment link is created through Stripe and shown on the cart's page");

    // Stop recovery, checked through the API.
    await page.goto(`${config.base}/dashboard/carts/${config.boCartId}`);
    await page.getByRole("button", { name: "Stop recovery" }).click();
    await page.waitForURL(`${config.base}/dashboard/carts/${config.boCartId}`);
    assert.equal((await page.locator("#cart-status").innerText()).trim().toLowerCase(), "expired");
    let answer = await api("GET", `/api/v1/carts/${config.boCartId}`);
    assert.equal(answer.body.data.status, "expired");
    assert.equal(answer.body.data.nextActionAt, null);
    ok("stop recovery: the API shows the cart expired with nothing scheduled");

    // Erase, after a confirmation, checked through the API.
    await page.goto(`${config.base}/dashboard/carts/${config.cyCartId}`);
    await page.getByRole("link", { name: "Erase…" }).click();
    await page.waitForURL(`${config.base}/dashboard/carts/${config.cyCartId}/erase`);
    await axeCheck(page, "erase confirmation");
    await shoot(page, "erase-confirmation");
    answer = await api("GET", `/api/v1/carts/${config.cyCartId}`);
    assert.equal(answer.status, 200, "nothing is erased before the confirmation");
    await page.getByRole("button", { name: "Erase for good" }).click();
    await page.waitForURL(/\/dashboard\/carts\?erased=1$/);
    await page.locator("#erased-notice").waitFor();
    answer = await api("GET", `/api/v1/carts/${config.cyCartId}`);
    assert.equal(answer.status, 404);
    const listed = await api("GET", "/api/v1/carts?email=cy%40example.com");
    assert.equal(listed.body.total, 0);
    ok("erase: after the confirmation the API no longer knows the cart or its address");

    // Webhooks: the failing deliveries, then a new endpoint whose secret shows once.
    await page.goto(`${config.base}/dashboard/webhooks`);
    const attempts = await page.locator("table.deliveries-table tbody td[data-label='Attempts']").allInnerTexts();
    assert.ok(attempts.length >= 1 && attempts.some((a) => Number(a) >= 1), `deliveries with attempts: ${attempts}`);
    const errors = await page.locator("table.deliveries-table .error-text").count();
    assert.ok(errors >= 1, "a delivery shows its error");
    ok(`webhook deliveries show status, attempts and errors (${attempts.length} deliveries)`);
    await axeCheck(page, "webhooks");
    await shoot(page, "webhooks");
    await page.getByLabel("Endpoint URL").fill("https://hooks.example.com/cartback");
    await page.getByLabel("Description (optional)").fill("Warehouse");
    await page.getByRole("button", { name: "Add endpoint" }).click();
    const secret = await page.locator("#webhook-secret").inputValue();
    assert.match(secret, /^whsec_/);
    await axeCheck(page, "webhook created");
    await shoot(page, "webhook-created");
    await page.goto(`${config.base}/dashboard/webhooks`);
    assert.equal(await page.locator("#webhook-secret").count(), 0);
    assert.ok(!(await page.content()).includes(secret), "the secret is not shown again");
    const endpoints = await api("GET", "/api/v1/webhook-endpoints");
    assert.ok(endpoints.body.data.some((e) => e.url === "https://hooks.example.com/cartback" && e.description === "Warehouse"));
    ok("a new webhook endpoint's secret is shown once; the API lists the endpoint");
    await page.getByLabel("Endpoint URL").fill("ftp://nowhere.example");
    await page.getByRole("button", { name: "Add endpoint" }).click();
    await page.locator("#webhook-url-error").waitFor();
    ok("a bad endpoint URL is refused beside its field");

    // Suppressions: add, find, remove; the API agrees each time.
    await page.goto(`${config.base}/dashboard/suppressions`);
    await page.getByLabel("Email address").fill("Quiet@Example.com");
    await page.getByLabel("Note (optional)").fill("asked by phone");
    await page.getByRole("button", { name: "Suppress" }).click();
    await page.locator("#suppression-notice").waitFor();
    let suppressions = await api("GET", "/api/v1/suppressions");
    assert.ok(suppressions.body.suppressions.some((s) => s.email === "quiet@example.com" && s.reason === "manual"));
    await page.getByLabel("Search addresses").fill("quiet");
    await page.getByRole("button", { name: "Search" }).click();
    assert.equal(await page.locator("table.suppressions-table tbody tr").count(), 1);
    await axeCheck(page, "suppressions");
    await shoot(page, "suppressions");
    await page.getByRole("button", { name: "Remove quiet@example.com" }).click();
    await page.locator("#suppression-notice").waitFor();
    suppressions = await api("GET", "/api/v1/suppressions");
    assert.ok(!suppressions.body.suppressions.some((s) => s.email === "quiet@example.com"));
    await page.getByLabel("Email address").fill("not an address");
    await page.getByRole("button", { name: "Suppress" }).click();
    await page.locator("#suppress-email-error").waitFor();
    ok("a suppression is added, found and removed; the API agrees; a bad address is refused beside its field");

    // A viewer sees the pages but every change is a 403.
    const viewer = await signIn(browser, config.viewer);
    await viewer.page.goto(`${config.base}/dashboard/carts/${config.annCartId}`);
    assert.equal(await viewer.page.getByRole("button", { name: "Stop recovery" }).count(), 0);
    const token = await viewer.page.locator('input[name="csrf"]').first().inputValue();
    const post = (path, form) =>
      viewer.page.request.post(config.base + path, { form: { csrf: token, ...form }, headers: { Origin: config.base }, maxRedirects: 0 });
    for (const [path, form] of [
      [`/dashboard/carts/${config.annCartId}/stop`, {}],
      [`/dashboard/carts/${config.annCartId}/erase`, {}],
      ["/dashboard/webhooks", { url: "https://x.example/h", events: "*" }],
      ["/dashboard/suppressions/add", { email: "v@example.com" }],
      ["/dashboard/suppressions/remove", { email: "v@example.com" }],
    ]) {
      const response = await post(path, form);
      assert.equal(response.status(), 403, path);
    }
    answer = await api("GET", `/api/v1/carts/${config.annCartId}`);
    assert.equal(answer.status, 200);
    ok("a viewer gets 403 on every change of these pages, and nothing changed");
    await viewer.context.close();

    // The 422s of the wrong inputs above are the browser noting the status.
    const problems = owner.problems.filter((text) => !/status of 422/.test(text));
    assert.deepEqual(problems, [], "no script error or CSP violation in the console");
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
