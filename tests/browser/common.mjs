// What every dashboard browser spec shares: playwright-core and axe-core from
// the tools scripts/test-deps.sh installs, numbered check lines, the axe-core
// check, screenshots at desktop and phone width, and signing in.

import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 812 };

// `config` is the spec's CARTBACK_BROWSER: at least label, toolsDir and
// screenshots, and base for signing in; `visualChecks: false` skips the
// screenshots and axe-core.
export function harness(config) {
  const require = createRequire(join(config.toolsDir, "package.json"));
  const { chromium } = require("playwright-core");
  const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  let checks = 0;
  // The pages' HTML does not depend on the backend, so the run on PostgreSQL
  // leaves the screenshots and the axe-core pass to the run on SQLite (they are
  // most of a spec's time) and checks only what the data decides.
  const visual = config.visualChecks !== false;

  function ok(message) {
    checks += 1;
    console.log(`ok ${checks} [${config.label}] ${message}`);
  }

  async function axeCheck(page, name) {
    if (!visual) return;
    await page.evaluate(axeSource);
    const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
    const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    assert.deepEqual(
      bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
      [],
      `${name}: axe-core violations`,
    );
    ok(`${name}: no serious or critical axe-core violation (${result.violations.length} minor)`);
  }

  // `options.phoneFits` also checks nothing sticks out sideways on a phone;
  // `options.scrollTop` scrolls to the top first;
  // `options.onDesktop(page)` runs after the desktop screenshot.
  async function shoot(page, name, options = {}) {
    if (!visual) {
      if (options.onDesktop) await options.onDesktop(page);
      return;
    }
    if (options.scrollTop) await page.evaluate(() => window.scrollTo(0, 0));
    for (const [size, viewport] of [["desktop", DESKTOP], ["phone", PHONE]]) {
      await page.setViewportSize(viewport);
      // The chart redraws on resize.
      await page.waitForTimeout(150);
      if (size === "phone" && options.phoneFits) {
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 1, `${name}: the phone layout is ${overflow}px too wide`);
      }
      await page.screenshot({ path: join(config.screenshots, `${config.label}-${name}-${size}.png`), fullPage: true });
      if (size === "desktop" && options.onDesktop) {
        await options.onDesktop(page);
      }
    }
    await page.setViewportSize(DESKTOP);
    ok(`${name}: screenshots at 1280x800 and 375x812`);
  }

  // A signed-in page; `problems` collects console errors and page errors
  // (a CSP violation is one), except console errors matching `expected` (the
  // browser logs the status of a form the page refuses on purpose).
  async function signIn(browser, who, { expected } = {}) {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const problems = [];
    page.on("console", (message) => {
      if (message.type() === "error" && !(expected && expected.test(message.text()))) problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(String(error)));
    await page.goto(`${config.base}/dashboard/login`);
    await page.getByLabel("Email").fill(who.email);
    await page.getByLabel("Password").fill(who.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${config.base}/dashboard`);
    return { context, page, problems };
  }

  return { chromium, ok, axeCheck, shoot, signIn, checks: () => checks };
}
