// Drives `letterpress serve` in headless Debian Chromium through playwright-core.
// Started by tests/serve_browser.rs, which starts the server on a copy of the
// seed issue and passes:
//   LP_URL    the server's URL (http://127.0.0.1:PORT/)
//   LP_ISSUE  the issue file the server watches (a copy: this script edits it)
//   LP_SHOTS  where to write screenshots (target/screenshots)
//   LP_SAVES  how many saves to time for the reload latency (default 10)
//   LP_DOCS_SHOT  optional: also write the whole preview page there (docs/serve.png)
// Exits non-zero with a message on the first failed assertion. Prints one
// JSON line `RESULT {...}` with the measured latencies.
import { inChromium } from "./chromium.mjs";
import fs from "node:fs";
import path from "node:path";

const url = process.env.LP_URL;
const issuePath = process.env.LP_ISSUE;
const shots = process.env.LP_SHOTS;
const saves = Number(process.env.LP_SAVES || 10);
if (!url || !issuePath || !shots) throw new Error("LP_URL, LP_ISSUE and LP_SHOTS must be set");
fs.mkdirSync(shots, { recursive: true });

const ok = (cond, msg) => { if (!cond) throw new Error("ASSERTION FAILED: " + msg); };
const log = (...a) => console.log("[browser]", ...a);

const original = fs.readFileSync(issuePath, "utf8");
const titleLine = /^title:.*$/m;
ok(titleLine.test(original), "the issue has a `title:` line in YAML front matter");
const withTitle = (t) => original.replace(titleLine, `title: "${t}"`);
const base = path.basename(issuePath);

/** No horizontal overflow at the current viewport: the document and every image fit. */
async function overflowReport(frameOrPage) {
  return frameOrPage.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const imgs = [...document.images].map((img) => {
      const r = img.getBoundingClientRect();
      return { src: img.getAttribute("src"), left: r.left, right: r.right, width: r.width };
    });
    return {
      viewport: vw,
      scrollWidth: document.documentElement.scrollWidth,
      bodyScrollWidth: document.body.scrollWidth,
      images: imgs.length,
      tooWide: imgs.filter((i) => i.left < -0.5 || i.right > vw + 0.5),
    };
  });
}

function assertFits(report, where) {
  ok(report.scrollWidth <= report.viewport,
    `${where}: document is ${report.scrollWidth}px wide in a ${report.viewport}px viewport`);
  ok(report.bodyScrollWidth <= report.viewport,
    `${where}: body is ${report.bodyScrollWidth}px wide in a ${report.viewport}px viewport`);
  ok(report.tooWide.length === 0, `${where}: images wider than the viewport: ${JSON.stringify(report.tooWide)}`);
}

async function waitPaint(page, pred, arg, timeout) {
  const t0 = Date.now();
  await page.waitForFunction(pred, arg, { timeout, polling: "raf" });
  return Date.now() - t0;
}

// True once the envelope and both iframes show `title`, and no error is shown.
const showsTitle = (title) => {
  const frames = [...document.querySelectorAll(".screen iframe.live")];
  return !document.body.classList.contains("has-error")
    && document.getElementById("subject").textContent.includes(title)
    && frames.length === 2
    && frames.every((f) => f.contentDocument && f.contentDocument.body
      && f.contentDocument.body.textContent.includes(title));
};

async function run(context) {
  const page = context.pages()[0] || (await context.newPage());
  const consoleErrors = [];
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.version && document.querySelectorAll(".screen iframe.live").length === 2, null, { timeout: 10000 });
  const subject = await page.textContent("#subject");
  log("subject:", subject);
  ok(subject.length > 0, "the envelope shows a subject");
  ok((await page.textContent("#from")).includes("@"), "the envelope shows From");
  ok((await page.textContent("#html-size")).includes("KB"), "the envelope shows the HTML size");
  ok((await page.textContent("#text")).length > 200, "the plain-text pane shows the text part");

  // The iframe documents are written from exactly the bytes of /sample.html,
  // and no script runs in them.
  const same = await page.evaluate(async () => {
    const served = await (await fetch("/sample.html")).text();
    return [...document.querySelectorAll(".screen iframe.live")].map((f) => f.lpHtml === served
      && f.getAttribute("sandbox").split(" ").indexOf("allow-scripts") < 0
      && f.contentDocument.querySelectorAll("script").length === 0);
  });
  ok(same.length === 2 && same.every(Boolean), "both iframes show /sample.html byte for byte, with no script");

  // The phone view: a 375 px viewport with nothing wider than it.
  const phoneHandle = await page.$("#phone iframe.live");
  const phoneDoc = await phoneHandle.contentFrame();
  const inPhone = await overflowReport(phoneDoc);
  log("phone iframe:", JSON.stringify(inPhone));
  ok(inPhone.viewport === 375, `the phone iframe is 375 px wide (got ${inPhone.viewport})`);
  assertFits(inPhone, "phone iframe at 375 px");

  await page.screenshot({ path: path.join(shots, "serve-page.png"), fullPage: false });
  if (process.env.LP_DOCS_SHOT) {
    await page.screenshot({ path: process.env.LP_DOCS_SHOT, fullPage: false });
  }

  // The email alone at 375 and 600 px, as a reader's client lays it out.
  for (const width of [375, 600]) {
    const p = await context.newPage();
    await p.setViewportSize({ width, height: 900 });
    await p.goto(new URL("sample.html", url).href);
    const r = await overflowReport(p);
    log(`email at ${width} px:`, JSON.stringify(r));
    assertFits(r, `email at ${width} px`);
    ok(r.images > 0, "the seed has images to check");
    await p.screenshot({ path: path.join(shots, `email-${width}.png`), fullPage: true });
    await p.close();
  }
  await page.bringToFront();

  // Scroll the views a little, so the reload must keep the position.
  await page.evaluate(() => { document.getElementById("desktop").scrollTop = 400; document.getElementById("phone").scrollTop = 600; });

  // 1. Edit the title on disk: the page follows within 2 s, without a reload.
  await page.evaluate(() => { window.__sameDocument = true; });
  const newTitle = "Live reload works " + Date.now();
  fs.writeFileSync(issuePath, withTitle(newTitle));
  const took = await waitPaint(page, showsTitle, newTitle, 2000);
  ok(await page.evaluate(() => window.__sameDocument === true), "the page was not reloaded (same document)");
  log(`title change visible after ${took} ms`);
  const scroll = await page.evaluate(() => [document.getElementById("desktop").scrollTop, document.getElementById("phone").scrollTop]);
  log("scroll after reload (desktop, phone):", scroll);
  ok(scroll[0] === 400 && scroll[1] === 600, `scroll positions survive the reload (got ${scroll})`);

  // 2. Break the front matter: the error, with file and line, is shown.
  const broken = withTitle(newTitle).replace(/\n---\n/, "\n\n");
  ok(broken !== withTitle(newTitle), "could remove the closing front matter fence");
  fs.writeFileSync(issuePath, broken);
  await waitPaint(page, () => document.body.classList.contains("has-error"), null, 2000);
  const where = await page.textContent("#error-where");
  const msg = await page.textContent("#error-msg");
  log("error shown:", where, "—", msg);
  await page.screenshot({ path: path.join(shots, "serve-error.png"), fullPage: false });
  ok(where.endsWith(base + ":1"), `the error names the file and line (got "${where}")`);
  ok(/never closed/.test(msg), `the error says what is wrong (got "${msg}")`);
  ok((await page.$$("#error-excerpt .hit")).length === 1, "the error shows the offending line");
  ok((await page.textContent("#status-text")).includes(base + ":1"), "the status pill names the error");
  ok(await page.evaluate((t) => document.querySelector("#phone iframe.live").contentDocument.body.textContent.includes(t), newTitle),
    "the last good render stays visible under the error");

  // 3. Repair: the error goes away and the page shows the fixed issue.
  const repaired = "Repaired " + Date.now();
  fs.writeFileSync(issuePath, withTitle(repaired));
  await waitPaint(page, showsTitle, repaired, 2000);
  log("recovered after repair");

  // 4. Reload latency: save → repaint, measured over `saves` saves.
  const latencies = [];
  const serverSide = [];
  const framesMs = [];
  for (let i = 0; i < saves; i++) {
    const t = `Latency run ${i} ${Date.now()}`;
    const before = await page.evaluate(() => window.lpPaints.length);
    const t0 = Date.now();
    fs.writeFileSync(issuePath, withTitle(t));
    await page.waitForFunction(([n, title]) => window.lpPaints.length > n
      && document.getElementById("subject").textContent.includes(title), [before, t], { timeout: 3000, polling: "raf" });
    const paint = await page.evaluate(() => window.lpPaints[window.lpPaints.length - 1]);
    latencies.push(paint.t - t0);
    serverSide.push(paint.received - t0);
    framesMs.push(paint.frames_ms);
    await new Promise((r) => setTimeout(r, 150));
  }
  // Nearest-rank percentiles.
  const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]; };
  const result = {
    saves: latencies.length, latencies_ms: latencies, median_ms: pct(latencies, 0.5), p95_ms: pct(latencies, 0.95),
    max_ms: Math.max(...latencies), event_ms: serverSide, event_median_ms: pct(serverSide, 0.5),
    iframes_ms: framesMs, iframes_median_ms: pct(framesMs, 0.5),
  };
  log(`reload latency over ${saves} saves: median ${result.median_ms} ms, p95 ${result.p95_ms} ms, max ${result.max_ms} ms`
    + ` (save to event arriving: median ${result.event_median_ms} ms; loading both iframes: median ${result.iframes_median_ms} ms)`);
  ok(consoleErrors.length === 0, "no script errors on the page: " + consoleErrors.join("; "));
  console.log("RESULT " + JSON.stringify(result));
}

await inChromium({ width: 1920, height: 1200 }, run, () => fs.writeFileSync(issuePath, original));
