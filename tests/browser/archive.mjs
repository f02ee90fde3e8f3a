// Opens archive pages built by `letterpress archive` in headless Debian
// Chromium (playwright-core) at phone width. Started by tests/archive.rs with:
//   LP_SITE   the built site folder
//   LP_PAGES  site-relative pages to check, separated by newlines
//   LP_SHOTS  where to write screenshots (target/screenshots)
//   LP_DOCS_SHOT  optional: also write a desktop screenshot of the first page there
// Exits non-zero on the first page that scrolls sideways at 375 px or shows
// an image wider than the viewport. Prints `RESULT {...}`.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const site = process.env.LP_SITE;
const pages = (process.env.LP_PAGES || "").split("\n").filter(Boolean);
const shots = process.env.LP_SHOTS;
if (!site || !pages.length || !shots) throw new Error("LP_SITE, LP_PAGES and LP_SHOTS must be set");
fs.mkdirSync(shots, { recursive: true });
const ok = (cond, msg) => { if (!cond) throw new Error("ASSERTION FAILED: " + msg); };

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
const checked = [];
try {
  const phone = await browser.newPage({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 1 });
  for (const rel of pages) {
    const url = pathToFileURL(path.join(site, rel)).href;
    await phone.goto(url, { waitUntil: "load" });
    const r = await phone.evaluate(() => {
      const vw = document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll("body *")]
        .map((el) => ({ tag: el.tagName, cls: el.className, right: el.getBoundingClientRect().right }))
        .filter((e) => e.right > vw + 0.5);
      return {
        viewport: vw,
        scrollWidth: document.documentElement.scrollWidth,
        styled: getComputedStyle(document.body).backgroundColor,
        wide: wide.slice(0, 5),
      };
    });
    ok(r.scrollWidth <= r.viewport, `${rel}: ${r.scrollWidth}px wide at ${r.viewport}px: ${JSON.stringify(r.wide)}`);
    ok(r.styled === "rgb(243, 244, 246)", `${rel}: the style sheet did not load (body background ${r.styled})`);
    checked.push(rel);
  }
  await phone.goto(pathToFileURL(path.join(site, pages[0])).href);
  await phone.screenshot({ path: path.join(shots, "archive-375.png"), fullPage: false });
  if (process.env.LP_DOCS_SHOT) {
    const desk = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await desk.goto(pathToFileURL(path.join(site, pages[0])).href);
    await desk.screenshot({ path: process.env.LP_DOCS_SHOT, fullPage: false });
  }
} finally {
  await browser.close();
}
console.log("RESULT " + JSON.stringify({ pages: checked.length }));
