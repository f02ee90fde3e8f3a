// The sign-up form in headless Debian Chromium through playwright-core.
// Started by tests/signup.rs, which starts `listen` (with [smtp] at aiosmtpd)
// and passes:
//   LP_SUBSCRIBE  listen's /subscribe URL (http://127.0.0.1:PORT/subscribe)
//   LP_EMAIL      the address to sign up
//   LP_SHOTS      where to write screenshots (target/screenshots)
// The form is a static page on another origin (http://blog.test/, served by
// request interception), as on the author's site. After each step it prints
// `STEP <name>` and reads one line: after `submitted` the line is the
// confirmation link from the mail; after the others, `ok`.
import { inChromium } from "./chromium.mjs";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";

const subscribe = process.env.LP_SUBSCRIBE;
const email = process.env.LP_EMAIL;
const shots = process.env.LP_SHOTS;
if (!subscribe || !email || !shots) throw new Error("LP_SUBSCRIBE, LP_EMAIL and LP_SHOTS must be set");
fs.mkdirSync(shots, { recursive: true });

const ok = (cond, msg) => { if (!cond) throw new Error("ASSERTION FAILED: " + msg); };
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function step(name) {
  console.log("STEP " + name);
  const answer = await lines.next();
  ok(!answer.done, `the test answered step ${name}`);
  return answer.value.trim();
}

const FORM = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Blog</title></head><body>
<form method="post" action="${subscribe}">
  <label>Email <input type="email" name="email" required></label>
  <label>Name <input type="text" name="name"></label>
  <div style="position:absolute;left:-10000px" aria-hidden="true">
    <label>Website <input type="text" name="website" tabindex="-1" autocomplete="off"></label>
  </div>
  <button type="submit" id="subscribe">Subscribe</button>
</form></body></html>`;

async function run(page) {
  const problems = [];
  page.on("pageerror", (e) => problems.push(String(e)));
  await page.route("http://blog.test/**", (route) =>
    route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: FORM }));

  await page.goto("http://blog.test/");
  await page.fill("input[name=email]", email);
  await page.fill("input[name=name]", "Chromium Reader");
  await Promise.all([page.waitForNavigation(), page.click("button#subscribe")]);
  ok((await page.textContent("h1#check")).includes("Check your inbox"), "the answer says to check the inbox");
  await page.screenshot({ path: path.join(shots, "signup-check-inbox.png"), fullPage: true });
  const link = await step("submitted");
  ok(link.startsWith("http://"), `the test passed the confirmation link: ${link}`);

  const shown = await page.goto(link);
  ok(shown.status() === 200, `the link answers 200, not ${shown.status()}`);
  const button = page.locator("button#confirm");
  ok(await button.isVisible(), "the confirm button is visible");
  await page.screenshot({ path: path.join(shots, "signup-confirm.png"), fullPage: true });
  ok((await step("shown")) === "ok", "the test accepted the shown page");

  await Promise.all([page.waitForNavigation(), button.click()]);
  ok((await page.textContent("h1#done")).includes("You are subscribed"), "the page says subscribed");
  await page.screenshot({ path: path.join(shots, "signup-done.png"), fullPage: true });
  ok((await step("confirmed")) === "ok", "the test accepted the confirmation");
  ok(problems.length === 0, "no errors on the pages: " + problems.join("; "));
}

await inChromium({ width: 800, height: 700 }, async (context) => run(await context.newPage()));
