// The dashboard's Experiments page in a real browser (Debian's chromium
// through playwright-core), against the real api that
// tests/tests/api/dashboard_browser.rs (experiments_in_a_browser) started and
// filled: a stopped 50 % holdout over eight shoppers, one held-out shopper
// ordered. Configuration arrives in CARTBACK_BROWSER (JSON, see `config`); one
// line per check; non-zero exit at the first failure.
//
// Checks: the list shows the experiment; its page shows each group's carts
// and recoveries as the API reports them, and the lift's interval drawn from
// the API's figures; a wrong share is refused beside the field; a new holdout
// is made and started, checked through the API; a viewer reads both pages,
// sees no form and gets 403 on every change; no serious or critical axe-core
// violation; screenshots at 1280x800 and 375x812.

import { mkdirSync } from "node:fs";
import assert from "node:assert/strict";

import { harness } from "./common.mjs";

const config = JSON.parse(process.env.CARTBACK_BROWSER ?? "{}");
// { base, secretKey, label, toolsDir, chromium, screenshots,
//   owner: {email, password}, viewer: {email, password}, experimentId }
const { chromium, ok, axeCheck, shoot: shootBoth, signIn, checks } = harness(config);
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
    const chart = page.locator("#lift-chart svg");
    assert.equal(await chart.count(), 1, "the lift chart is drawn");
    const bar = page.locator('#lift-chart g.interval[data-group="emails"]');
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
    // Which group a shopper lands in hangs on the shop's random secret, so eight
    // carts can split 1–7 and one order can make the interval clear zero: the
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

    // A viewer reads but changes nothing.
    const viewer = await signIn(browser, config.viewer);
    await viewer.page.goto(`${config.base}/dashboard/experiments`);
    assert.equal(await viewer.page.getByRole("button", { name: "Create draft" }).count(), 0);
    await viewer.page.goto(`${config.base}/dashboard/experiments/${newId}`);
    assert.equal(await viewer.page.getByRole("button", { name: "Stop" }).count(), 0);
    const token = await viewer.page.evaluate(async () => {
      // The viewer's token, from any page that carries one (the sign-out form).
      const input = document.querySelector('input[name="csrf"]');
      return input ? input.value : "";
    });
    for (const [path, form] of [
      ["/dashboard/experiments/holdout", { name: "Sneaky", percent: "50" }],
      [`/dashboard/experiments/${newId}/stop`, {}],
      [`/dashboard/experiments/${config.experimentId}/start`, {}],
    ]) {
      const response = await viewer.page.request.post(config.base + path, {
        form: { csrf: token, ...form },
        headers: { Origin: config.base },
        maxRedirects: 0,
      });
      assert.equal(response.status(), 403, path);
    }
    assert.equal((await api("GET", `/api/v1/experiments/${newId}`)).body.status, "running");
    assert.equal((await api("GET", "/api/v1/experiments")).body.data.length, 2);
    ok("a viewer gets 403 on every change, and nothing changed");
    await viewer.context.close();

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
