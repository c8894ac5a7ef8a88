// The dashboard's Sending and Developers pages in a real browser (Debian's
// chromium through playwright-core), against the real api and worker that
// tests/tests/api/dashboard_browser.rs (settings_pages_in_a_browser) started.
// Told everything in CARTBACK_BROWSER (JSON, see `config`), prints one line per
// check, exits non-zero at the first failure.
//
// Checks: the owner changes the recovery URL and reply-to on Sending and the
// NEXT real email (the worker's outbox) links to the new URL and carries the
// Reply-To; a bad field is refused beside the field; the email provider is
// changed (Resend, SMTP at maildev, back to the default) with errors beside
// fields and secrets never echoed, and a test send goes out; on Developers a key is
// created (shown once, works) and revoked (401 within the auth cache's TTL);
// the tracker snippet carries the new publishable key; the last secret key
// cannot be revoked; allowed origins are edited and read back from the API;
// the Stripe key and signing secret are set, replaced (events verify with the
// new secret only) and removed, read back from the API; a
// viewer sees both pages and gets 403 on every change; a form without the CSRF
// token gets 403; no serious or critical axe-core violation; screenshots at
// 1280x800 and 375x812.

import { mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createHmac } from "node:crypto";
import assert from "node:assert/strict";
import { harness } from "./common.mjs";

const config = JSON.parse(process.env.CARTBACK_BROWSER ?? "{}");
// { base, secretKey, label, toolsDir, chromium, screenshots, outbox, testTo,
//   smtp: {host, port, user, password}, owner: {email, password},
//   viewer: {email, password} }
const { chromium, ok, axeCheck, shoot, signIn: signInAs, checks } = harness(config);
// A refused form answers 422 or 409 on purpose; the browser logs the status.
const signIn = (browser, who) =>
  signInAs(browser, who, { expected: /Failed to load resource: the server responded with a status of (409|422)/ });

async function api(method, path, body, key = config.secretKey) {
  const response = await fetch(config.base + path, {
    method,
    headers: { "X-API-Key": key, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let json = null;
  try {
    json = await response.json();
  } catch {
    json = null;
  }
  return { status: response.status, body: json };
}

/// Posts a Stripe event signed with `secret` to the intake; its status.
async function stripeEvent(webhookUrl, secret) {
  const body = JSON.stringify({ id: "evt_dashboard", type: "customer.created", data: { object: {} } });
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
  const response = await fetch(config.base + webhookUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Stripe-Signature": `t=${t},v1=${v1}` },
    body,
  });
  return response.status;
}

async function waitFor(what, check, timeoutMs = 30000) {
  const start = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/// The outbox email sent to `address`, once the worker wrote it.
function emailTo(address) {
  for (const name of readdirSync(config.outbox)) {
    if (!name.endsWith(".eml")) continue;
    const text = readFileSync(join(config.outbox, name), "utf8");
    if (text.includes(address)) return text;
  }
  return null;
}

function recoveryLink(source) {
  const text = source.replace(/=\r?\n/g, "");
  const start = text.indexOf(`${config.base}/r/`);
  assert.ok(start >= 0, "a recovery link in the email");
  return text.slice(start).match(/^[^\s"<>)]+/)[0];
}

async function main() {
  mkdirSync(config.screenshots, { recursive: true });
  const browser = await chromium.launch({ executablePath: config.chromium, args: ["--no-sandbox"] });
  try {
    const owner = await signIn(browser, config.owner);
    const page = owner.page;

    // Sending: the shop's settings, as the API has them.
    await page.goto(`${config.base}/dashboard/sending`);
    const before = (await api("GET", "/api/v1/settings/shop")).body.shop;
    assert.equal(await page.getByLabel("Shop name").inputValue(), before.name);
    assert.equal(await page.getByLabel("Recovery URL").inputValue(), before.recoveryUrl);
    assert.equal(await page.getByLabel("Sender email").inputValue(), before.fromEmail);
    assert.equal(await page.getByLabel("Time zone").inputValue(), before.timeZone);
    assert.equal(await page.getByLabel("Default currency").inputValue(), before.defaultCurrency);
    ok("the Sending page shows the shop settings of GET /api/v1/settings/shop");
    await axeCheck(page, "sending");
    await shoot(page, "sending");

    // A bad value is refused beside its field, what was typed stays, nothing is stored.
    await page.getByLabel("Reply-to").fill("not an address");
    await page.getByLabel("Time zone").fill("Mars/Olympus");
    await page.getByRole("button", { name: "Save shop settings" }).click();
    await page.locator("#shop-errors").waitFor();
    assert.match(await page.locator("#shop-reply-to-error").innerText(), /email address/);
    assert.match(await page.locator("#shop-time-zone-error").innerText(), /time zone/);
    assert.equal(await page.getByLabel("Reply-to").getAttribute("aria-invalid"), "true");
    assert.equal(await page.getByLabel("Reply-to").inputValue(), "not an address");
    assert.equal((await api("GET", "/api/v1/settings/shop")).body.shop.timeZone, before.timeZone);
    await axeCheck(page, "sending with errors");
    await shoot(page, "sending-errors");
    ok("bad fields are refused beside their fields, with the API's rules");

    // Change the recovery URL and reply-to; the next email uses them.
    const newUrl = `https://changed-${config.label}.example/basket`;
    await page.goto(`${config.base}/dashboard/sending`);
    await page.getByLabel("Recovery URL").fill(newUrl);
    await page.getByLabel("Reply-to").fill("help@shop.example");
    await page.getByRole("button", { name: "Save shop settings" }).click();
    await page.locator("#saved").waitFor();
    const after = (await api("GET", "/api/v1/settings/shop")).body.shop;
    assert.equal(after.recoveryUrl, newUrl);
    assert.equal(after.replyTo, "help@shop.example");
    assert.equal(after.name, before.name, "fields left alone stay");
    ok("the owner changes the recovery URL and reply-to; the API reads them back");
    const shopper = `next-${config.label}@example.com`;
    const tracked = await api("POST", "/api/v1/track", {
      event: "CART_UPDATE",
      sessionId: `next-email-${config.label}`,
      items: [{ id: "sku_1", name: "Blue mug", price: 12.5, quantity: 2 }],
      total: 25.0,
      currency: "USD",
      customerEmail: shopper,
    });
    assert.equal(tracked.status, 200, JSON.stringify(tracked.body));
    const email = await waitFor("the next recovery email", () => emailTo(shopper));
    assert.match(email, /^Reply-To: help@shop\.example\r?$/m);
    const link = recoveryLink(email);
    const click = await fetch(link, { redirect: "manual" });
    assert.equal(click.status, 302);
    assert.ok(click.headers.get("location").startsWith(`${newUrl}?`), click.headers.get("location"));
    ok("the next real email links to the new recovery URL and replies go to the new address");

    // The email provider: the server's default at first.
    await page.goto(`${config.base}/dashboard/sending`);
    assert.match(await page.locator("#provider-current").innerText(), /server's default provider/);
    assert.equal((await api("GET", "/api/v1/email-provider")).status, 404);
    // Only the chosen provider's fields show (script), each labelled.
    await page.getByLabel("Send through").selectOption("resend");
    assert.ok(await page.getByLabel("Resend API key").isVisible());
    assert.ok(!(await page.locator('[data-choice="smtp"]').isVisible()));
    ok("the provider form shows the server default and only the chosen provider's fields");

    // Refused beside the field: a key missing, then one the provider cannot carry.
    await page.getByRole("button", { name: "Save email provider" }).click();
    await page.locator("#resend-api-key-error").waitFor();
    assert.match(await page.locator("#resend-api-key-error").innerText(), /API key/);
    assert.equal(await page.getByLabel("Send through").inputValue(), "resend", "the choice stays");
    await page.getByLabel("Resend API key").fill("re_has a space");
    await page.getByRole("button", { name: "Save email provider" }).click();
    await page.locator("#resend-api-key-error").waitFor();
    assert.match(await page.locator("#resend-api-key-error").innerText(), /apiKey is missing or invalid/);
    assert.equal(await page.getByLabel("Resend API key").inputValue(), "", "a secret is never put back");
    assert.equal((await api("GET", "/api/v1/email-provider")).status, 404, "nothing stored");
    await axeCheck(page, "sending provider errors");
    await shoot(page, "sending-provider-errors");
    ok("provider settings are refused beside their fields with the API's rules; secrets are not echoed");

    // Resend: stored sealed, shown masked, never echoed.
    const resendKey = "re_1234567890abcdefWXYZ";
    await page.getByLabel("Resend API key").fill(resendKey);
    await page.getByRole("button", { name: "Save email provider" }).click();
    await page.locator("#saved").waitFor();
    let stored = (await api("GET", "/api/v1/email-provider")).body.emailProvider;
    assert.equal(stored.provider, "resend");
    assert.equal(stored.apiKeyHint, "re_…WXYZ");
    assert.ok(!(await page.content()).includes(resendKey), "the key is not in the page");
    assert.equal(await page.getByLabel("Resend API key").inputValue(), "");
    assert.ok((await page.locator("#provider-facts").innerText()).includes("re_…WXYZ"));
    ok("Resend is stored with the API's masking; the page shows only the hint");

    // SMTP at maildev, with a user name and a password that needs encoding.
    await page.getByLabel("Send through").selectOption("smtp");
    await page.getByLabel("Host").fill(config.smtp.host);
    await page.getByLabel("Port").fill(String(config.smtp.port));
    await page.getByLabel("Encryption").selectOption("none");
    await page.getByLabel("User name").fill(config.smtp.user);
    await page.getByLabel("Password", { exact: true }).fill(config.smtp.password);
    await page.getByRole("button", { name: "Save email provider" }).click();
    await page.locator("#saved").waitFor();
    stored = (await api("GET", "/api/v1/email-provider")).body.emailProvider;
    assert.equal(stored.provider, "smtp");
    assert.equal(stored.url, `smtp://${config.smtp.user}:***@${config.smtp.host}:${config.smtp.port}`);
    assert.ok(!(await page.content()).includes(config.smtp.password));
    assert.equal(await page.getByLabel("Host").inputValue(), config.smtp.host);
    assert.equal(await page.getByLabel("Password", { exact: true }).inputValue(), "");
    ok("SMTP is stored as the API stores it; the form shows host, port and user, never the password");

    // The test send arrives (checked in maildev by the Rust side).
    await page.getByLabel("Send a test to").fill(config.testTo);
    await page.getByRole("button", { name: "Send test" }).click();
    await page.locator("#test-result").waitFor();
    assert.match(await page.locator("#test-result").innerText(), /^Sent\./);
    await axeCheck(page, "sending with a test result");
    await shoot(page, "sending-provider");
    // Saved again with the password left empty: the stored one is kept.
    await page.getByLabel("Port").fill(String(config.smtp.port));
    await page.getByRole("button", { name: "Save email provider" }).click();
    await page.locator("#saved").waitFor();
    await page.getByLabel("Send a test to").fill(`again-${config.testTo}`);
    await page.getByRole("button", { name: "Send test" }).click();
    await page.locator("#test-result").waitFor();
    assert.match(await page.locator("#test-result").innerText(), /^Sent\./);
    ok("a test send goes through the shop's SMTP; an empty password field keeps the stored one");

    // A bad test address is refused beside the field.
    await page.getByLabel("Send a test to").fill("nobody");
    await page.getByRole("button", { name: "Send test" }).click();
    await page.locator("#provider-test-to-error").waitFor();
    ok("a test to something that is not an address is refused beside the field");

    // Back to the server's default.
    await page.getByLabel("Send through").selectOption("default");
    await page.getByRole("button", { name: "Save email provider" }).click();
    await page.locator("#saved").waitFor();
    assert.equal((await api("GET", "/api/v1/email-provider")).status, 404);
    assert.match(await page.locator("#provider-current").innerText(), /server's default provider/);
    ok("back to the server's default provider: the API has none stored");

    // Developers: keys as the API lists them.
    await page.goto(`${config.base}/dashboard/developers`);
    const listed = (await api("GET", "/api/v1/api-keys")).body.data;
    assert.equal(await page.locator("table.keys tbody tr").count(), listed.length);
    ok("the Developers page lists the keys of GET /api/v1/api-keys");

    // A publishable key: shown once, and filled into the tracker snippet.
    await page.getByLabel("Kind").selectOption("publishable");
    await page.getByLabel("Label").fill("storefront");
    await page.getByRole("button", { name: "Create key" }).click();
    const publishable = await page.locator("#new-key").inputValue();
    assert.match(publishable, /^pk_[0-9A-Za-z]{32}$/);
    await page.goto(`${config.base}/dashboard/developers`);
    assert.equal(await page.locator("#new-key").count(), 0, "a key is shown once");
    assert.ok((await page.locator("#tracker-snippet").inputValue()).includes(`data-key="${publishable}"`));
    ok("a publishable key is created, shown once, and filled into the tracker snippet");
    await axeCheck(page, "developers");
    await shoot(page, "developers");

    // A secret key works at once, and is refused within the cache TTL once revoked.
    await page.getByLabel("Kind").selectOption("secret");
    await page.getByLabel("Label").fill("ERP");
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = await page.locator("#new-key").inputValue();
    assert.match(secret, /^sk_[0-9A-Za-z]{32}$/);
    assert.equal((await api("GET", "/api/v1/settings/shop", undefined, secret)).status, 200);
    const row = page.locator("table.keys tbody tr", { hasText: "ERP" });
    await row.getByText("Revoke", { exact: true }).click();
    await row.getByRole("button", { name: /^Yes, revoke/ }).click();
    await page.locator("#saved").waitFor();
    const revokedAt = Date.now();
    await waitFor("the revoked key to be refused", async () =>
      (await api("GET", "/api/v1/settings/shop", undefined, secret)).status === 401, 5000);
    assert.ok(Date.now() - revokedAt < 2000, "refused within the auth cache TTL");
    assert.equal(await page.locator("table.keys tbody tr", { hasText: "ERP" }).getByText("Revoked").count(), 1);
    ok("a secret key is created, works, and after revoking gets 401 within the auth cache TTL");

    // The last active secret key cannot be revoked.
    const original = page.locator("table.keys tbody tr", { hasText: "default" }).filter({ hasText: "Secret" });
    await original.getByText("Revoke", { exact: true }).click();
    await original.getByRole("button", { name: /^Yes, revoke/ }).click();
    await page.locator("#key-error").waitFor();
    assert.match(await page.locator("#key-error").innerText(), /last active secret key/);
    assert.equal((await api("GET", "/api/v1/api-keys")).status, 200);
    ok("the last active secret key cannot be revoked (409), and still works");

    // Allowed origins: refused lines are named, a good list is read back from the API.
    await page.goto(`${config.base}/dashboard/developers`);
    await page.getByLabel("Origins, one per line").fill("https://shop.example\nshop.example/cart");
    await page.getByRole("button", { name: "Save origins" }).click();
    await page.locator("#origins-error").waitFor();
    assert.match(await page.locator("#origins-error").innerText(), /shop\.example\/cart/);
    assert.deepEqual((await api("GET", "/api/v1/settings/allowed-origins")).body.allowedOrigins, []);
    await page.getByLabel("Origins, one per line").fill("https://Shop.example:443\nhttp://localhost:3000");
    await page.getByRole("button", { name: "Save origins" }).click();
    await page.locator("#saved").waitFor();
    assert.deepEqual((await api("GET", "/api/v1/settings/allowed-origins")).body.allowedOrigins, [
      "https://shop.example",
      "http://localhost:3000",
    ]);
    ok("allowed origins are edited with the API's rules and read back from it");

    // Stripe: the webhook URL to paste, the secrets set, replaced and removed.
    let stripe = (await api("GET", "/api/v1/integrations/stripe")).body;
    assert.equal(stripe.configured, false);
    assert.ok((await page.locator("#stripe-webhook-url").inputValue()).endsWith(stripe.webhookUrl), "the webhook URL to paste");
    await page.getByLabel("Secret key", { exact: true }).fill("pk_test_51Habcdefghijklmnop");
    await page.getByLabel("Webhook signing secret").fill("whsec_x");
    await page.getByRole("button", { name: "Save Stripe settings" }).click();
    await page.locator("#stripe-secret-key-error").waitFor();
    assert.match(await page.locator("#stripe-secret-key-error").innerText(), /publishable key/);
    assert.match(await page.locator("#stripe-webhook-secret-error").innerText(), /14 to/);
    assert.equal(await page.getByLabel("Secret key", { exact: true }).inputValue(), "");
    assert.equal((await api("GET", "/api/v1/integrations/stripe")).body.configured, false);
    await axeCheck(page, "developers with Stripe errors");
    ok("Stripe secrets are refused beside their fields with the API's rules");

    const stripeKey = "sk_test_51Habcdefghijklmnop4242";
    const firstSecret = "whsec_firstsecret12345";
    await page.getByLabel("Secret key", { exact: true }).fill(stripeKey);
    await page.getByLabel("Webhook signing secret").fill(firstSecret);
    await page.getByLabel(/payment link in recovery emails/).check();
    await page.getByRole("button", { name: "Save Stripe settings" }).click();
    await page.locator("#saved").waitFor();
    stripe = (await api("GET", "/api/v1/integrations/stripe")).body;
    assert.equal(stripe.configured, true);
    assert.equal(stripe.secretKey, "sk_test_…4242");
    assert.equal(stripe.webhookSecrets, 1);
    assert.equal(stripe.linksInEmails, true);
    const html = await page.content();
    assert.ok(!html.includes(stripeKey) && !html.includes(firstSecret), "secrets are not in the page");
    assert.ok((await page.locator("#stripe-facts").innerText()).includes("sk_test_…4242"));
    assert.ok((await page.locator("#stripe-webhook-url").inputValue()).endsWith(stripe.webhookUrl), "the webhook URL to paste");
    ok("the Stripe key and signing secret are stored and read back from GET /api/v1/integrations/stripe, masked");

    // Only the signing secret replaced: the key stays, and Stripe's events
    // are now checked against the new secret only.
    const newSecret = "whsec_replacedsecret6789";
    await page.getByLabel("Webhook signing secret").fill(newSecret);
    await page.getByRole("button", { name: "Save Stripe settings" }).click();
    await page.locator("#saved").waitFor();
    stripe = (await api("GET", "/api/v1/integrations/stripe")).body;
    assert.equal(stripe.secretKey, "sk_test_…4242");
    assert.equal(stripe.webhookSecrets, 1);
    assert.equal(stripe.linksInEmails, true);
    assert.equal(await stripeEvent(stripe.webhookUrl, newSecret), 200);
    assert.equal(await stripeEvent(stripe.webhookUrl, firstSecret), 400);
    ok("replacing the signing secret keeps the key; Stripe's events verify with the new secret only");
    await shoot(page, "developers-stripe");

    // Disconnected, after a confirmation.
    await page.getByText("Disconnect Stripe", { exact: true }).click();
    await page.getByRole("button", { name: "Yes, disconnect Stripe" }).click();
    await page.locator("#saved").waitFor();
    stripe = (await api("GET", "/api/v1/integrations/stripe")).body;
    assert.equal(stripe.configured, false);
    assert.equal(stripe.secretKey, null);
    ok("Stripe is disconnected in the page, as DELETE /api/v1/integrations/stripe does");

    // Changes need the session's CSRF token.
    const token = await page.locator('input[name="csrf"]').first().inputValue();
    let response = await page.request.post(`${config.base}/dashboard/sending/shop`, {
      form: { name: "No token" },
      headers: { Origin: config.base },
      maxRedirects: 0,
    });
    assert.equal(response.status(), 403);
    response = await page.request.post(`${config.base}/dashboard/developers/keys`, {
      form: { csrf: token, kind: "secret" },
      headers: { Origin: "https://evil.example" },
      maxRedirects: 0,
    });
    assert.equal(response.status(), 403);
    ok("a form without the CSRF token, or from another origin, gets 403");

    // A viewer sees both pages and changes nothing.
    const viewer = await signIn(browser, config.viewer);
    for (const path of ["sending", "developers"]) {
      const seen = await viewer.page.goto(`${config.base}/dashboard/${path}`);
      assert.equal(seen.status(), 200, path);
    }
    assert.equal(await viewer.page.getByRole("button", { name: "Create key" }).count(), 0);
    await viewer.page.goto(`${config.base}/dashboard/sending`);
    assert.ok(await viewer.page.getByLabel("Shop name").isDisabled());
    const viewerToken = await viewer.page.locator('input[name="csrf"]').first().inputValue();
    const keyId = (await api("GET", "/api/v1/api-keys")).body.data.find((k) => k.revokedAt === null).id;
    assert.equal(await viewer.page.locator("#provider-form").count(), 0);
    for (const [path, form] of [
      ["/dashboard/sending/shop", { name: "Viewer was here" }],
      ["/dashboard/sending/provider", { provider: "resend", resend_api_key: "re_viewer1234567890" }],
      ["/dashboard/sending/test", { to: "viewer@example.com" }],
      ["/dashboard/developers/stripe", { secret_key: "sk_test_viewer12345" }],
      ["/dashboard/developers/stripe/remove", {}],
      ["/dashboard/developers/keys", { kind: "secret", label: "viewer" }],
      [`/dashboard/developers/keys/${keyId}/revoke`, {}],
      ["/dashboard/developers/origins", { origins: "https://viewer.example" }],
    ]) {
      response = await viewer.page.request.post(config.base + path, {
        form: { csrf: viewerToken, ...form },
        headers: { Origin: config.base },
        maxRedirects: 0,
      });
      assert.equal(response.status(), 403, path);
    }
    const unchanged = (await api("GET", "/api/v1/settings/shop")).body.shop;
    assert.equal(unchanged.name, before.name);
    const keys = (await api("GET", "/api/v1/api-keys")).body.data;
    assert.ok(keys.every((k) => k.label !== "viewer"));
    assert.ok(keys.find((k) => k.id === keyId).revokedAt === null);
    assert.equal((await api("GET", "/api/v1/email-provider")).status, 404);
    assert.equal((await api("GET", "/api/v1/integrations/stripe")).body.configured, false);
    await axeCheck(viewer.page, "sending (viewer)");
    ok("a viewer sees Sending and Developers and gets 403 on every change");
    await viewer.context.close();

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
