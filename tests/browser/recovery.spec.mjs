// The dashboard's Recovery and Emails pages in a real browser (Debian's
// chromium through playwright-core), against the real api that
// tests/tests/api/dashboard_browser.rs started with a master key and the shop's
// own provider (maildev). Told everything in CARTBACK_BROWSER (JSON: base,
// secretKey, label, toolsDir, chromium, screenshots, owner, viewer, testTo).
//
// Checks: the policy changed in the page reads back from GET
// /api/v1/settings/recovery; a bad value shows its error beside the field and
// changes nothing; steps are added and removed; previews follow the form as it
// is edited and show a custom template once a step uses it; branding saves and
// shows in the preview; a custom template is created, previewed before saving,
// saved, refused with its line when broken, test-sent and deleted; a viewer is
// refused every change; preview frames are sandboxed; no serious or critical
// axe-core violation; screenshots at 1280x800 and 375x812.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";
import { harness } from "./common.mjs";

const config = JSON.parse(process.env.CARTBACK_BROWSER ?? "{}");
const { chromium, ok, axeCheck, shoot: shootBoth, signIn: signInAs, checks } = harness(config);
const shoot = (page, name) => shootBoth(page, name, { scrollTop: true });
// A refused form answers 422 on purpose; the browser logs its status.
const signIn = (browser, who) => signInAs(browser, who, { expected: /status of 422/ });

async function api(method, path) {
  const response = await fetch(config.base + path, { method, headers: { "X-API-Key": config.secretKey } });
  return { status: response.status, body: await response.json() };
}

async function settings() {
  const { status, body } = await api("GET", "/api/v1/settings/recovery");
  assert.equal(status, 200);
  return body;
}

// Waits until the preview frame `selector` shows `expected` (scrolled to, as
// the frames load lazily).
async function frameShows(page, selector, expected) {
  await page.locator(selector).scrollIntoViewIfNeeded();
  const frame = page.frameLocator(selector);
  await frame.locator("body").filter({ hasText: expected }).waitFor({ timeout: 10000 });
}

async function recovery(page) {
  await page.goto(`${config.base}/dashboard/recovery`);
  await axeCheck(page, "recovery");
  await frameShows(page, "#preview details[open] figure:nth-child(3) iframe", "English");
  await shoot(page, "recovery");
  // Chromium paints sandboxed frames below the first screen blank in a
  // full-page capture, so the previews get a screenshot of their own.
  if (config.visualChecks !== false) {
    await page.evaluate(() => document.getElementById("preview").scrollIntoView({ block: "start" }));
    await page.screenshot({ path: join(config.screenshots, `${config.label}-recovery-preview-desktop.png`) });
  }
  const before = await settings();
  assert.equal(await page.locator(".step-card").count(), before.policy.steps.length);

  // Change the policy in the page and read it back from the API.
  await page.locator("#step-0-delay").fill("45");
  await page.locator("#step-0-delay-unit").selectOption("minutes");
  await page.locator("#step-1-template").selectOption("bold_banner");
  await page.locator("#step-2-coupon-kind").selectOption("static");
  await page.locator("#step-2-coupon").fill("COMEBACK5");
  await page.getByLabel("Most emails per cart").fill("2");
  await page.getByLabel("Time zone").fill("Europe/Amsterdam");
  await page.getByLabel("Quiet hours: send nothing between").check();
  await page.getByLabel("From").fill("21:00");
  await page.getByLabel("Until").fill("08:00");
  await page.getByLabel("Count an order as recovered when it follows").selectOption("clicked");
  await page.getByRole("button", { name: "Save policy" }).click();
  await page.locator("#saved-notice").waitFor();
  const saved = (await settings()).policy;
  assert.equal(saved.steps[0].delayMs, 45 * 60 * 1000);
  assert.equal(saved.steps[1].delayMs, before.policy.steps[1].delayMs);
  assert.equal(saved.stepSettings[1].template, "bold_banner");
  assert.deepEqual(saved.stepSettings[2].coupon, { kind: "static", code: "COMEBACK5" });
  assert.equal(saved.maxEmailsPerCart, 2);
  assert.equal(saved.timeZone, "Europe/Amsterdam");
  assert.deepEqual(saved.quietHours, { start: "21:00", end: "08:00" });
  assert.equal(saved.attributionMode, "clicked");
  ok("the policy changed in the page reads back from GET /api/v1/settings/recovery");

  // The previews show the saved policy: the third email carries its coupon.
  await page.locator("#preview").scrollIntoViewIfNeeded();
  await frameShows(page, "#preview details[open] figure:nth-child(3) iframe", "COMEBACK5");
  // And follow the form as it is edited, before saving (dashboard.js).
  await page.locator("#step-2-coupon").fill("LIVE42");
  await frameShows(page, "#preview details[open] figure:nth-child(3) iframe", "LIVE42");
  assert.deepEqual((await settings()).policy, saved, "a preview saves nothing");
  ok("the previews show each email and follow the form as it is edited");

  // A bad value: its error beside the field, nothing changed.
  await page.goto(`${config.base}/dashboard/recovery`);
  await page.locator("#step-1-delay").fill("10");
  await page.locator("#step-1-delay-unit").selectOption("minutes");
  await page.getByLabel("Time zone").fill("Mars/Olympus_Mons");
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/dashboard/recovery") && r.request().method() === "POST"),
    page.getByRole("button", { name: "Save policy" }).click(),
  ]);
  assert.equal(refused.status(), 422);
  const delayError = page.locator("#step-1-delay-error");
  assert.match(await delayError.innerText(), /longer than the previous step's delay, 45 minutes/);
  assert.equal(await page.locator("#step-1-delay").getAttribute("aria-invalid"), "true");
  assert.equal(await page.locator("#step-1-delay").getAttribute("aria-describedby"), "step-1-delay-error");
  assert.match(await page.locator("#time-zone-error").innerText(), /unknown time zone/i);
  assert.equal(await page.locator("#step-1-delay").inputValue(), "10", "the typed value stays");
  await page.locator("#form-errors").waitFor();
  await axeCheck(page, "recovery with errors");
  await frameShows(page, "#preview details[open] figure:nth-child(1) iframe", "problems are fixed");
  await shoot(page, "recovery-errors");
  assert.deepEqual((await settings()).policy, saved, "a refused form changes nothing");
  ok("a bad value shows its error beside the field and changes nothing");

  // Steps are added and removed in the page, saved only on Save.
  await page.goto(`${config.base}/dashboard/recovery`);
  await page.getByRole("button", { name: "Add an email" }).click();
  assert.equal(await page.locator(".step-card").count(), 4);
  // The unsaved email is previewed too (the form rides along in the frame's address).
  await frameShows(page, "#preview details[open] figure:nth-child(4) iframe", "design · English");
  await page.getByRole("button", { name: "Remove email 2" }).click();
  assert.equal(await page.locator(".step-card").count(), 3);
  assert.equal((await settings()).policy.steps.length, 3, "not saved yet");
  await page.getByRole("button", { name: "Save policy" }).click();
  await page.locator("#saved-notice").waitFor();
  const reshaped = (await settings()).policy;
  assert.equal(reshaped.steps.length, 3);
  assert.equal(reshaped.steps[1].delayMs, saved.steps[2].delayMs, "the old third email is now the second");
  assert.equal(reshaped.steps[2].delayMs, saved.steps[2].delayMs * 2, "the new one: twice the last delay");
  assert.deepEqual(reshaped.stepSettings[1].coupon, { kind: "static", code: "COMEBACK5" });
  ok("emails are added and removed in the page and saved together");
  return reshaped;
}

async function emails(page) {
  await page.goto(`${config.base}/dashboard/emails`);
  await axeCheck(page, "emails");
  // Branding: saved, read back from the API, shown in the preview.
  await page.getByLabel("Button text").fill("Finish my order");
  await page.getByLabel("Brand colour").fill("#0f766e");
  await page.getByLabel("Design").selectOption("bold_banner");
  await frameShows(page, "#branding-preview", "Finish my order");
  await page.getByRole("button", { name: "Save branding" }).click();
  await page.locator("#saved-notice").waitFor();
  let email = (await settings()).email;
  assert.equal(email.buttonText, "Finish my order");
  assert.equal(email.brandColor, "#0f766e");
  assert.equal(email.design, "bold_banner");
  await frameShows(page, "#branding-preview", "Finish my order");
  ok("branding saved in the page reads back from the API and shows in the preview");
  // A bad logo address: beside its field, nothing saved.
  await page.getByLabel("Logo URL").fill("javascript:alert(1)");
  await page.getByRole("button", { name: "Save branding" }).click();
  assert.match(await page.locator("#logo-url-error").innerText(), /http/);
  assert.deepEqual((await settings()).email, email, "a refused form changes nothing");
  ok("a bad logo URL shows its error beside the field and changes nothing");
  // The shop's own words in another language.
  await page.goto(`${config.base}/dashboard/emails`);
  await page.locator("#words-locale").fill("nl");
  await page.getByRole("button", { name: "Edit words" }).click();
  await page.waitForURL(/\/dashboard\/emails\/words\?locale=nl$/);
  await page.locator("#words-0-subject").fill("Je mandje bij {shop} wacht op je");
  await page.getByRole("button", { name: "Save words" }).click();
  await page.locator("#saved-notice").waitFor();
  email = (await settings()).email;
  assert.deepEqual(email.copy, { nl: [{ subject: "Je mandje bij {shop} wacht op je" }] });
  await frameShows(page, "#preview figure:nth-child(1) iframe", "Je mandje bij Test shop wacht op je");
  await axeCheck(page, "email words");
  await shoot(page, "email-words");
  ok("the shop's own words per language save, read back from the API and show in the preview");
  // A test of the first email through the shop's provider.
  await page.goto(`${config.base}/dashboard/emails`);
  await page.getByLabel("Send the first email to").fill(config.testTo);
  await page.getByRole("button", { name: "Send test" }).click();
  assert.match(await page.locator("#test-result").innerText(), /Sent\. smtp accepted the test email/);
  ok("a test of the first email goes out through the shop's own provider");
  await shoot(page, "emails");

  // A custom template: created from the starter, saved, previewed.
  await page.getByRole("link", { name: "New template" }).click();
  await page.getByLabel("Name").fill("spring");
  await page.getByLabel("Language").fill("en");
  await page.getByLabel("Subject").fill("Spring is here at {{ shop_name }}");
  await page.getByRole("button", { name: "Save template" }).click();
  await page.waitForURL(/\/dashboard\/emails\/templates\/spring\/en\?saved=1$/);
  await frameShows(page, "#template-preview", "Spring is here at");
  // Edited: the preview changes before it is saved, and after.
  await page.getByLabel("Subject").fill("Still thinking it over?");
  await page.getByRole("button", { name: "Preview changes" }).click();
  await frameShows(page, "#template-preview", "Still thinking it over?");
  let stored = await api("GET", "/api/v1/templates/spring/en");
  assert.equal(stored.body.subject, "Spring is here at {{ shop_name }}", "previewing saves nothing");
  await page.getByRole("button", { name: "Save template" }).click();
  await page.waitForURL(/\?saved=1$/);
  stored = await api("GET", "/api/v1/templates/spring/en");
  assert.equal(stored.body.subject, "Still thinking it over?");
  await frameShows(page, "#template-preview", "Still thinking it over?");
  ok("a custom template is created, previewed before saving, saved and read back from the API");
  await axeCheck(page, "template editor");
  await shoot(page, "email-template");
  // A broken template: refused with the part and line beside the field.
  const html = await page.getByLabel("HTML or MJML").inputValue();
  await page.getByLabel("HTML or MJML").fill(`${html}\n{% for item in items %}`);
  await page.getByRole("button", { name: "Save template" }).click();
  assert.match(await page.locator("#template-html-error").innerText(), /html line \d+/);
  stored = await api("GET", "/api/v1/templates/spring/en");
  assert.equal(stored.body.html, html, "a refused template changes nothing");
  ok("a broken template shows its error, with its line, beside the field");
  // Every failing part at once, each beside its own field (the API's rules).
  await page.getByLabel("Subject").fill("{{ shop_nme }}");
  await page.getByLabel("Plain text").fill("{{ greeting }}");
  await page.getByRole("button", { name: "Save template" }).click();
  assert.match(await page.locator("#template-subject-error").innerText(), /subject line 1, column 4: unknown variable `shop_nme` \(did you mean `shop_name`\?\)/);
  assert.match(await page.locator("#template-html-error").innerText(), /html line \d+/);
  assert.match(await page.locator("#template-text-error").innerText(), /the recovery link is missing.*the unsubscribe link is missing/);
  stored = await api("GET", "/api/v1/templates/spring/en");
  assert.equal(stored.body.subject, "Still thinking it over?", "a refused template changes nothing");
  ok("every failing part shows its errors beside its field, in one answer");
  await axeCheck(page, "template editor with errors");
  await shoot(page, "email-template-errors");
  // A test of this version through the shop's provider.
  await page.goto(`${config.base}/dashboard/emails/templates/spring/en`);
  await page.getByLabel("Send this version to").fill(config.testTo);
  await page.getByRole("button", { name: "Send test" }).click();
  assert.match(await page.locator("#test-result").innerText(), /Sent\./);
  ok("a test of the template goes out through the shop's own provider");
}

async function main() {
  mkdirSync(config.screenshots, { recursive: true });
  const browser = await chromium.launch({ executablePath: config.chromium, args: ["--no-sandbox"] });
  try {
    const owner = await signIn(browser, config.owner);
    const page = owner.page;
    const policy = await recovery(page);
    await emails(page);

    // The first email now uses the template: its preview shows it.
    await page.goto(`${config.base}/dashboard/recovery`);
    await page.locator("#step-0-template").selectOption("custom:spring");
    await page.getByRole("button", { name: "Save policy" }).click();
    await page.locator("#saved-notice").waitFor();
    assert.equal((await settings()).policy.stepSettings[0].template, "custom:spring");
    await frameShows(page, "#preview details[open] figure:nth-child(1) iframe", "Still thinking it over?");
    ok("a step using the custom template previews it");

    // Preview frames are sandboxed documents only the dashboard may frame.
    const frameAnswer = await page.request.get(`${config.base}/dashboard/recovery/preview?step=1&locale=en`);
    assert.equal(frameAnswer.status(), 200);
    assert.match(frameAnswer.headers()["content-security-policy"], /sandbox/);
    assert.match(frameAnswer.headers()["content-security-policy"], /frame-ancestors 'self'/);
    assert.equal(frameAnswer.headers()["x-frame-options"], "SAMEORIGIN");
    const pageAnswer = await page.request.get(`${config.base}/dashboard/recovery`);
    assert.doesNotMatch(pageAnswer.headers()["content-security-policy"], /unsafe-inline/);
    assert.equal(await page.locator("iframe[sandbox='']").count() > 0, true);
    ok("preview frames are sandboxed and framed only by the dashboard; pages keep a strict policy");

    // Emails are numbered from 1 here as in the API: the first frame is step 1,
    // and there is no email 0.
    assert.match(
      await page.locator("#preview details[open] figure:nth-child(1) iframe").getAttribute("src"),
      /[?&]step=1&/,
    );
    const noStepZero = await page.request.get(`${config.base}/dashboard/recovery/preview?step=0&locale=en`);
    assert.equal(noStepZero.status(), 422);
    ok("preview frames count the emails from 1");

    // No CSRF token: refused.
    const token = await page.locator('input[name="csrf"]').first().inputValue();
    let response = await page.request.post(`${config.base}/dashboard/recovery`, {
      form: { action: "save", "step.0.delay": "1", "step.0.delay_unit": "hours" },
      headers: { Origin: config.base },
      maxRedirects: 0,
    });
    assert.equal(response.status(), 403);
    ok("a policy POST without the CSRF token gets 403");

    // A viewer sees both pages and is refused every change.
    const viewer = await signIn(browser, config.viewer);
    await viewer.page.goto(`${config.base}/dashboard/recovery`);
    assert.equal(await viewer.page.locator("#step-0-delay").isDisabled(), true);
    assert.equal(await viewer.page.getByRole("button", { name: "Save policy" }).count(), 0);
    await viewer.page.goto(`${config.base}/dashboard/emails/templates/spring/en`);
    await frameShows(viewer.page, "#template-preview", "Still thinking it over?");
    const viewerToken = await viewer.page.locator('input[name="csrf"]').first().inputValue();
    const changes = [
      ["/dashboard/recovery", { action: "save", "step.0.delay": "1", "step.0.delay_unit": "hours" }],
      ["/dashboard/recovery", { action: "add-step" }],
      ["/dashboard/emails/branding", { design: "minimal" }],
      ["/dashboard/emails/test", { to: config.testTo }],
      ["/dashboard/emails/templates", { action: "save", name: "viewer", locale: "en", subject: "x", html: "<p>x</p>", text: "x" }],
      ["/dashboard/emails/templates/preview", { subject: "x", html: "<p>x</p>", text: "x", locale: "en" }],
      ["/dashboard/emails/templates/spring/en/delete", {}],
    ];
    for (const [path, form] of changes) {
      response = await viewer.page.request.post(config.base + path, {
        form: { csrf: viewerToken, ...form },
        headers: { Origin: config.base },
        maxRedirects: 0,
      });
      assert.equal(response.status(), 403, path);
    }
    assert.deepEqual((await settings()).policy.steps, policy.steps, "the viewer changed nothing");
    assert.equal((await api("GET", "/api/v1/templates/spring/en")).status, 200);
    ok("a viewer sees the pages and gets 403 on every change");
    assert.deepEqual(viewer.problems, [], "no console error for the viewer");
    await viewer.context.close();

    // Deleting the template, behind its confirmation.
    await page.goto(`${config.base}/dashboard/emails/templates/spring/en`);
    await page.getByText("Delete this template").click();
    await page.getByRole("button", { name: "Delete spring (en)" }).click();
    await page.waitForURL(/\/dashboard\/emails\?deleted=1$/);
    assert.equal((await api("GET", "/api/v1/templates/spring/en")).status, 404);
    await page.locator("#no-templates").waitFor();
    ok("a template is deleted behind a confirmation");

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
