// The dashboard's Experiments page in a real browser (Debian's chromium
// through playwright-core), against the real api that
// tests/tests/api/dashboard_browser.rs (experiments_in_a_browser) started and
// filled: a stopped 50 % holdout over sixteen shoppers, one held-out shopper
// ordered. Configuration arrives in CARTBACK_BROWSER (JSON, see `config`); one
// line per check; non-zero exit at the first failure.
//
// Checks: the list shows the experiment; its page shows each group's carts
// and recoveries as the API reports them, and the lift's interval drawn from
// the API's figures (on a phone too, readable); a wrong share is refused
// beside the field; a new holdout is made and started, checked through the
// API; an A/B test (words, coupon, design and a second email) is made in the
// page with its problems shown beside their fields, read back from the API,
// started once the holdout stops, stopped, and promoted after a warning that
// there is no winner, the policy then read back from the API; a viewer reads
// the pages, sees no form and gets 403 on every change; no serious or
// critical axe-core violation; screenshots at 1280x800 and 375x812.

import { mkdirSync } from "node:fs";
import assert from "node:assert/strict";

import { harness } from "./common.mjs";

const config = JSON.parse(process.env.CARTBACK_BROWSER ?? "{}");
// { base, secretKey, label, toolsDir, chromium, screenshots,
//   owner: {email, password}, viewer: {email, password}, experimentId }
const { chromium, ok, axeCheck, shoot: shootBoth, signIn, checks } = harness(config);
const shoot = (page, name) => shootBoth(page, name, { phoneFits: true });

// JSON without its nulls: a step's unset template or coupon reads as absent.
const clean = (value) => JSON.parse(JSON.stringify(value, (_, v) => (v === null ? undefined : v)));

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

    await page.goto(`${config.base}/dashboard/experiments`);
    const rows = page.locator("table.experiments-table tbody tr");
    assert.equal(await rows.count(), 1);
    assert.match(await rows.first().innerText(), /Spring holdout/);
    assert.match(await rows.first().innerText(), /Stopped/);
    ok("the list shows the stopped holdout");
    await axeCheck(page, "experiments");
    await shoot(page, "experiments");

    // Its figures, as the API has them.
    const report = (await api("GET", `/api/v1/experiments/${config.experimentId}`)).body;
    await page.getByRole("link", { name: "Spring holdout" }).click();
    await page.waitForURL(`${config.base}/dashboard/experiments/${config.experimentId}`);
    for (const group of ["holdout", "emails"]) {
      const row = page.locator("table.experiment-groups tbody tr", { has: page.locator("th", { hasText: group }) });
      const carts = (await row.locator('td[data-label="Carts"]').innerText()).trim();
      const recovered = (await row.locator('td[data-label="Recovered"]').innerText()).trim();
      assert.equal(carts, String(report.tallies[group]?.carts ?? 0), `${group} carts`);
      assert.equal(recovered, String(report.tallies[group]?.recovered ?? 0), `${group} recovered`);
    }
    assert.equal(report.tallies.holdout.recovered, 1);
    ok("each group's carts and recoveries are the API's");

    const result = report.results[0];
    const interval = result.comparison.conversion?.absolute?.interval;
    const chart = page.locator("#lift-chart svg.chart-wide");
    assert.equal(await chart.count(), 1, "the lift chart is drawn");
    const bar = chart.locator('g.interval[data-group="emails"]');
    assert.equal(await bar.locator("circle.estimate").count(), 1);
    assert.equal(await bar.locator("line.bar").count(), interval ? 1 : 0);
    const label = await chart.getAttribute("aria-label");
    const points = (v) => `${v * 100 >= 0 ? "+" : "-"}${Math.abs(v * 100).toFixed(1)} pp`;
    assert.ok(label.includes(points(result.comparison.conversion.absolute.estimate)), label);
    if (interval) {
      assert.ok(label.includes(`${points(interval.low)} to ${points(interval.high)}`), label);
      // The bar spans the interval on the chart's own scale: low left of high,
      // and the zero line between them when the interval spans zero.
      const [x1, x2] = [Number(await bar.locator("line.bar").getAttribute("x1")), Number(await bar.locator("line.bar").getAttribute("x2"))];
      assert.ok(x1 < x2);
      const zero = Number(await chart.locator("line.zero").getAttribute("x1"));
      if (interval.low < 0 && interval.high > 0) assert.ok(x1 < zero && zero < x2);
    }
    // Which group a shopper lands in hangs on the shop's random secret, so the
    // carts can split unevenly and one order can make the interval clear zero: the
    // page must show whatever verdict the API gives, and "inconclusive" exactly
    // when the interval spans zero.
    const verdictLabels = { inconclusive: "Inconclusive", better: "Better", worse: "Worse" };
    assert.ok(verdictLabels[result.verdict], `a known verdict: ${result.verdict}`);
    if (interval) assert.equal(result.verdict === "inconclusive", interval.low <= 0 && interval.high >= 0);
    assert.equal(
      (await page.locator(`.experiment-result[data-group="emails"] .verdict`).innerText()).trim(),
      verdictLabels[result.verdict],
    );
    ok("the lift chart and the verdict are drawn from the API's figures");
    await axeCheck(page, "experiment");
    await shoot(page, "experiment");
    // On a phone the narrow chart shows instead, its text still readable.
    await page.setViewportSize({ width: 375, height: 812 });
    assert.equal(await chart.isVisible(), false);
    const narrow = page.locator("#lift-chart svg.chart-narrow");
    assert.ok(await narrow.isVisible());
    const box = await narrow.boundingBox();
    assert.ok(box.width >= 280 && box.x >= 0 && box.x + box.width <= 375, `the phone chart fits: ${JSON.stringify(box)}`);
    const labelHeight = (await narrow.locator("text.row-label").first().boundingBox()).height;
    const tickHeight = (await narrow.locator("text.tick-label").first().boundingBox()).height;
    assert.ok(labelHeight >= 12 && tickHeight >= 12, `phone chart text is ${labelHeight}px and ${tickHeight}px tall`);
    await page.setViewportSize({ width: 1280, height: 800 });
    ok("on a phone the interval chart fits the width with text at least 12px tall");

    // A new holdout: a wrong share first.
    await page.goto(`${config.base}/dashboard/experiments`);
    await page.getByLabel("Name").fill("Summer holdout");
    await page.getByLabel("Held out (%)").fill("150");
    await page.getByRole("button", { name: "Create draft" }).click();
    assert.match(await page.locator("#holdout-error").innerText(), /0\.01 to 99\.99/);
    ok("a wrong share is refused beside its field");
    await page.getByLabel("Held out (%)").fill("12.5");
    await page.getByRole("button", { name: "Create draft" }).click();
    await page.waitForURL(/\/dashboard\/experiments\/exp_/);
    const newId = page.url().split("/").pop();
    await page.getByRole("button", { name: "Start" }).click();
    await page.waitForURL(`${config.base}/dashboard/experiments/${newId}`);
    const started = (await api("GET", `/api/v1/experiments/${newId}`)).body;
    assert.equal(started.status, "running");
    assert.deepEqual(started.groups.map((g) => [g.name, g.basisPoints, g.holdout]), [["holdout", 1250, true], ["emails", 8750, false]]);
    ok("a 12.5 % holdout is made and started, as the API confirms");
    await shoot(page, "experiment-running");

    // An A/B test made in the page: a curious subject, a coupon, and a
    // second email (a whole other sequence) against the shop's one email.
    await page.goto(`${config.base}/dashboard/experiments`);
    await page.getByRole("link", { name: "New A/B test" }).click();
    await page.waitForURL(`${config.base}/dashboard/experiments/new`);
    await page.getByLabel("Name", { exact: true }).fill("Subject test");
    await page.locator("#g1-name").fill("curious");
    await page.locator("#g1-share").fill("40");
    await page.locator("#g1-emails > summary").click();
    await page.locator("#g1-e0-delay").fill("2");
    await page.locator("#g1-e0-delay-unit").selectOption("seconds");
    await page.locator("#g1-e0-subject").fill("Still thinking it over?");
    await page.locator("#g1-e0-coupon-kind").selectOption("static");
    await page.locator("#g1-e0-coupon").fill("lower case");
    await page.getByRole("button", { name: "Add an email (a whole other sequence)" }).click();
    assert.ok(await page.locator("#g1-sequence").isChecked(), "adding an email makes it a whole sequence");
    assert.equal(await page.locator("#g1-e0-subject").inputValue(), "Still thinking it over?", "the form keeps what was typed");
    await page.locator("#g1-e1-delay").fill("4");
    await page.locator("#g1-e1-delay-unit").selectOption("seconds");
    await page.locator("#g1-e1-template").selectOption("bold_banner");
    await page.locator("#create-test").click();
    // Both problems at once, each beside its field: the shares (the split's
    // rule) and the coupon code (the variant's), in the domain's words.
    assert.match(await page.locator("#groups-error").innerText(), /add up to 90/);
    assert.match(await page.locator("#g1-e0-coupon-error").innerText(), /./);
    assert.equal(await page.locator("#g1-e0-coupon").getAttribute("aria-invalid"), "true");
    assert.equal(await page.locator("#form-errors li").count(), 2);
    ok("an A/B test's problems are shown beside their fields, all at once");
    await axeCheck(page, "new-ab-test-errors");
    await shoot(page, "new-ab-test-errors");
    await page.locator("#g1-share").fill("50");
    await page.locator("#g1-e0-coupon").fill("BACK10");
    await page.locator("#create-test").click();
    await page.waitForURL(/\/dashboard\/experiments\/exp_/);
    const abId = page.url().split("/").pop();
    const listed = (await api("GET", "/api/v1/experiments")).body.data.find((e) => e.id === abId);
    assert.equal(listed.name, "Subject test");
    assert.equal(listed.kind, "ab");
    assert.equal(listed.status, "draft");
    assert.deepEqual(listed.groups.map((g) => [g.name, g.basisPoints, g.holdout]), [["reference", 5000, false], ["curious", 5000, false]]);
    assert.equal(listed.groups[0].variant, undefined, "the reference keeps the shop's flow");
    const variant = listed.groups[1].variant;
    assert.deepEqual(variant.sequence.steps.map((s) => s.delayMs), [2000, 4000]);
    assert.deepEqual(clean(variant.sequence.stepSettings), [{ coupon: { kind: "static", code: "BACK10" } }, { template: "bold_banner" }]);
    assert.deepEqual(variant.steps, [{ step: 0, copy: { subject: "Still thinking it over?" } }]);
    ok("the A/B test made in the page is the API's, group for group");
    assert.match(await page.locator("table.experiment-groups").innerText(), /Still thinking it over\?/);
    await axeCheck(page, "ab-test");
    await shoot(page, "ab-test");

    // One experiment runs at a time: the holdout must stop first.
    await page.getByRole("button", { name: "Start" }).click();
    assert.match(await page.locator("main").innerText(), /Another experiment is running/);
    await page.goto(`${config.base}/dashboard/experiments/${newId}`);
    await page.getByRole("button", { name: "Stop" }).click();
    await page.waitForURL(`${config.base}/dashboard/experiments/${newId}`);
    await page.goto(`${config.base}/dashboard/experiments/${abId}`);
    await page.getByRole("button", { name: "Start" }).click();
    await page.waitForURL(`${config.base}/dashboard/experiments/${abId}`);
    assert.equal((await api("GET", `/api/v1/experiments/${abId}`)).body.status, "running");
    await page.getByRole("button", { name: "Stop" }).click();
    await page.waitForURL(`${config.base}/dashboard/experiments/${abId}`);
    assert.equal((await api("GET", `/api/v1/experiments/${abId}`)).body.status, "stopped");
    assert.equal((await api("GET", `/api/v1/experiments/${newId}`)).body.status, "stopped");
    ok("the A/B test starts once the holdout stopped, then stops, as the API confirms");

    // Promote: no carts, so no winner; the page says so and asks to insist,
    // as the API asks for force.
    const before = (await api("GET", "/api/v1/settings/recovery")).body;
    await page.locator('#promote a[data-group="curious"]').click();
    await page.waitForURL(`${config.base}/dashboard/experiments/${abId}/promote?group=curious`);
    assert.match(await page.locator("#promote-verdict").innerText(), /No winner/);
    const changes = await page.locator("#promote-changes").innerText();
    assert.match(changes, /Email 1 is sent after 2 seconds instead of 700 milliseconds/);
    assert.match(changes, /Email 1 offers code BACK10 instead of no coupon/);
    assert.match(changes, /A new email 2, sent after 4 seconds, with the Bold banner/);
    assert.match(changes, /Email 1's subject in English becomes “Still thinking it over\?”/);
    ok("the promotion page warns there is no winner and states what changes in the policy");
    await axeCheck(page, "promote");
    await shoot(page, "promote");
    const ownerToken = await page.locator('#promote-card input[name="csrf"]').inputValue();
    const unforced = await page.request.post(`${config.base}/dashboard/experiments/${abId}/promote`, {
      form: { csrf: ownerToken, group: "curious" },
      headers: { Origin: config.base },
      maxRedirects: 0,
    });
    assert.equal(unforced.status(), 409, "no winner without insisting, as the API's 409 without force");
    assert.equal((await api("GET", `/api/v1/experiments/${abId}`)).body.winner, null);
    await page.getByRole("button", { name: "Promote anyway" }).click();
    await page.waitForURL(`${config.base}/dashboard/experiments/${abId}`);
    assert.match(await page.locator("#promoted-notice").innerText(), /curious was promoted/);
    const promoted = (await api("GET", `/api/v1/experiments/${abId}`)).body;
    assert.equal(promoted.winner, "curious");
    const after = (await api("GET", "/api/v1/settings/recovery")).body;
    assert.deepEqual(after.policy.steps.map((s) => s.delayMs), [2000, 4000]);
    assert.deepEqual(clean(after.policy.stepSettings), [{ coupon: { kind: "static", code: "BACK10" } }, { template: "bold_banner" }]);
    assert.equal(after.email.copy[after.email.defaultLocale ?? "en"][0].subject, "Still thinking it over?");
    assert.deepEqual({ ...after.policy, steps: null, stepSettings: null }, { ...before.policy, steps: null, stepSettings: null }, "nothing else in the policy changed");
    ok("the promoted group's emails are the policy the API reads back");
    await shoot(page, "ab-test-promoted");

    // A viewer reads but changes nothing.
    const viewer = await signIn(browser, config.viewer);
    await viewer.page.goto(`${config.base}/dashboard/experiments`);
    assert.equal(await viewer.page.getByRole("button", { name: "Create draft" }).count(), 0);
    assert.equal(await viewer.page.getByRole("link", { name: "New A/B test" }).count(), 0);
    await viewer.page.goto(`${config.base}/dashboard/experiments/new`);
    assert.equal(await viewer.page.locator("#ab-form").count(), 0);
    await viewer.page.goto(`${config.base}/dashboard/experiments/${newId}`);
    assert.equal(await viewer.page.getByRole("button", { name: "Stop" }).count(), 0);
    await viewer.page.goto(`${config.base}/dashboard/experiments/${abId}`);
    assert.equal(await viewer.page.locator("#promote").count(), 0);
    const token = await viewer.page.evaluate(async () => {
      // The viewer's token, from any page that carries one (the sign-out form).
      const input = document.querySelector('input[name="csrf"]');
      return input ? input.value : "";
    });
    for (const [path, form] of [
      ["/dashboard/experiments/holdout", { name: "Sneaky", percent: "50" }],
      [`/dashboard/experiments/${newId}/start`, {}],
      [`/dashboard/experiments/${config.experimentId}/start`, {}],
      ["/dashboard/experiments/new", { name: "Sneaky test", "g.0.name": "a", "g.0.share": "50", "g.1.name": "b", "g.1.share": "50" }],
      [`/dashboard/experiments/${abId}/promote`, { group: "reference", force: "on" }],
    ]) {
      const response = await viewer.page.request.post(config.base + path, {
        form: { csrf: token, ...form },
        headers: { Origin: config.base },
        maxRedirects: 0,
      });
      assert.equal(response.status(), 403, path);
    }
    assert.equal((await api("GET", `/api/v1/experiments/${newId}`)).body.status, "stopped");
    assert.equal((await api("GET", `/api/v1/experiments/${abId}`)).body.winner, "curious");
    assert.equal((await api("GET", "/api/v1/experiments")).body.data.length, 3);
    ok("a viewer gets 403 on every change, and nothing changed");
    await viewer.context.close();

    const problems = owner.problems.filter((text) => !/status of (409|422)/.test(text));
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
