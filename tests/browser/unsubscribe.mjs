// Drives `letterpress listen` in headless Debian Chromium through playwright-core.
// Started by tests/listen_browser.rs, which starts `listen` and passes:
//   LP_URL     a message's unsubscribe URL (http://127.0.0.1:PORT/unsubscribe/TOKEN)
//   LP_MASKED  the masked address the page must show
//   LP_SHOTS   where to write screenshots (target/screenshots)
// After each click it prints `STEP <name>` and waits for a line on standard
// input: the Rust test checks the store in between. Exits non-zero with a
// message on the first failed assertion.
import { inChromium } from "./chromium.mjs";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";

const url = process.env.LP_URL;
const masked = process.env.LP_MASKED;
const shots = process.env.LP_SHOTS;
if (!url || !masked || !shots) throw new Error("LP_URL, LP_MASKED and LP_SHOTS must be set");
fs.mkdirSync(shots, { recursive: true });

const ok = (cond, msg) => { if (!cond) throw new Error("ASSERTION FAILED: " + msg); };
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function step(name) {
  console.log("STEP " + name);
  const answer = await lines.next();
  ok(!answer.done && answer.value.trim() === "ok", `the test accepted step ${name}: ${answer.value}`);
}

async function run(page) {
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));

  const first = await page.goto(url);
  ok(first.status() === 200, `GET answers 200, not ${first.status()}`);
  ok((await page.textContent("#address")).trim() === masked, "the page shows the masked address");
  const button = page.locator("button#unsubscribe");
  ok(await button.isVisible(), "the unsubscribe button is visible");
  // The style block is allowed by its hash in the CSP: the button is styled.
  const bg = await button.evaluate((b) => getComputedStyle(b).backgroundColor);
  ok(bg === "rgb(31, 41, 55)", `the page's style applies under its CSP (button background ${bg})`);
  await page.screenshot({ path: path.join(shots, "unsubscribe-page.png"), fullPage: true });
  await step("shown");

  await Promise.all([page.waitForNavigation(), button.click()]);
  ok((await page.textContent("h1#done")).includes("unsubscribed"), "the page says unsubscribed");
  ok((await page.textContent("#address")).trim() === masked, "the done page shows the masked address");
  await page.screenshot({ path: path.join(shots, "unsubscribe-done.png"), fullPage: true });
  await step("unsubscribed");

  await Promise.all([page.waitForNavigation(), page.locator("button#resubscribe").click()]);
  ok((await page.textContent("h1#done")).includes("subscribed again"), "the page says subscribed again");
  await page.screenshot({ path: path.join(shots, "unsubscribe-undone.png"), fullPage: true });
  await step("resubscribed");
  ok(problems.length === 0, "no errors or CSP violations on the pages: " + problems.join("; "));
}

await inChromium({ width: 800, height: 700 }, async (context) => run(await context.newPage()));
