// Renders composed emails in headless Debian Chromium through playwright-core.
// Started by tests/email_html.rs, which passes:
//   LP_PAGES  a JSON list of .html files (what `letterpress preview` wrote)
//   LP_SHOTS  where to write screenshots (target/screenshots)
//   LP_DOCS   optional: a directory for the docs screenshots (docs/)
// For each page, at 375 and 600 px, in a light browser and a dark one
// (--force-dark-mode, so `prefers-color-scheme: dark` holds without
// emulation), it takes a full-page screenshot and checks, from the rendered
// styles:
//   - the page and the card are light in the light browser, dark in the dark one
//   - every visible text's colour against the background behind it >= 4.5:1
//   - <html lang> is set; exactly one <h1>; every <th> has a scope
//   - at 375 px the page does not scroll sideways; a table wider than its
//     column scrolls inside its wrapper, and cells never break words
// Exits non-zero with every failure listed. Prints `RESULT {...}`.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";
import url from "node:url";

const pages = JSON.parse(process.env.LP_PAGES || "[]");
const shots = process.env.LP_SHOTS;
const docs = process.env.LP_DOCS;
if (!pages.length || !shots) throw new Error("LP_PAGES and LP_SHOTS must be set");
fs.mkdirSync(shots, { recursive: true });

const MIN = 4.5;
const failures = [];
const fail = (msg) => failures.push(msg);
const result = { pages: pages.length, checked: 0, minContrast: { light: 99, dark: 99 }, worst: {} };

/** Runs in the page: every visible text colour against its effective background. */
function measure() {
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lum = ({ r, g, b }) => {
    const ch = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b);
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a),
    g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a),
    a: 1,
  });
  const canvas = parse(getComputedStyle(document.documentElement).backgroundColor);
  const dark = matchMedia("(prefers-color-scheme: dark)").matches;
  const base = canvas && canvas.a > 0 ? canvas : (dark ? { r: 18, g: 18, b: 18, a: 1 } : { r: 255, g: 255, b: 255, a: 1 });
  const background = (el) => {
    const layers = [];
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let bg = base;
    for (const l of layers.reverse()) bg = over(l, bg);
    return bg;
  };
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const el = n.parentElement;
    if (!el || seen.has(el) || el.closest(".lp-preheader")) continue;
    seen.add(el);
    const s = getComputedStyle(el);
    if (s.visibility === "hidden" || s.display === "none" || el.getClientRects().length === 0) continue;
    const fg = parse(s.color);
    const bg = background(el);
    const text = over(fg, bg);
    const [hi, lo] = [lum(text), lum(bg)].sort((a, b) => b - a);
    out.push({
      ratio: (hi + 0.05) / (lo + 0.05),
      color: s.color,
      bg: `rgb(${bg.r.toFixed(0)}, ${bg.g.toFixed(0)}, ${bg.b.toFixed(0)})`,
      tag: el.tagName.toLowerCase(),
      cls: el.className || (el.closest("[class]") || {}).className || "",
      text: n.textContent.trim().slice(0, 40),
    });
  }
  const ths = [...document.querySelectorAll("th")];
  const vw = document.documentElement.clientWidth;
  const tables = [...document.querySelectorAll(".lp-table")].map((t) => {
    const wrap = t.closest(".lp-table-wrap");
    const cells = [...t.querySelectorAll("td, th")].map((c) => getComputedStyle(c));
    return {
      wide: wrap ? wrap.scrollWidth > wrap.clientWidth + 1 : false,
      wrapScrolls: wrap ? ["auto", "scroll"].includes(getComputedStyle(wrap).overflowX) : false,
      breaksWords: cells.some((c) => c.wordBreak === "break-all" || c.wordBreak === "break-word" || c.overflowWrap === "anywhere"),
    };
  });
  const card = document.querySelector(".lp-card");
  return {
    dark,
    // The designed dark version, not the light one under a dark UI.
    pageLuminance: lum(background(document.body)),
    cardLuminance: card ? lum(background(card)) : null,
    texts: out,
    lang: document.documentElement.lang,
    h1: document.querySelectorAll("h1").length,
    thWithoutScope: ths.filter((t) => !t.hasAttribute("scope")).length,
    scrollWidth: document.documentElement.scrollWidth,
    viewport: vw,
    tables,
    font: getComputedStyle(document.querySelector("h1") || document.body).fontFamily,
  };
}

const userDataDirs = [];
async function browser(dark) {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync("/tmp"), "lp-email-"));
  userDataDirs.push(dir);
  return chromium.launchPersistentContext(dir, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", ...(dark ? ["--force-dark-mode"] : [])],
    // No emulation: the dark browser's own preference must reach the page.
    colorScheme: null,
    offline: true,
  });
}

try {
  for (const scheme of ["light", "dark"]) {
    const context = await browser(scheme === "dark");
    const page = context.pages()[0] || (await context.newPage());
    for (const file of pages) {
      const stem = path.basename(file, ".html");
      for (const width of [375, 600]) {
        await page.setViewportSize({ width, height: 900 });
        await page.goto(url.pathToFileURL(file).href, { waitUntil: "load" });
        const m = await page.evaluate(measure);
        const where = `${stem} ${width}px ${scheme}`;
        if (m.dark !== (scheme === "dark")) fail(`${where}: prefers-color-scheme: dark is ${m.dark}`);
        if (m.cardLuminance === null) fail(`${where}: no .lp-card`);
        const isDark = (l) => l < 0.05;
        if (isDark(m.cardLuminance) !== (scheme === "dark") || isDark(m.pageLuminance) !== (scheme === "dark"))
          fail(`${where}: card luminance ${m.cardLuminance.toFixed(3)}, page ${m.pageLuminance.toFixed(3)}: not the ${scheme} design`);
        for (const t of m.texts) {
          result.checked++;
          if (t.ratio < result.minContrast[scheme]) {
            result.minContrast[scheme] = Number(t.ratio.toFixed(2));
            result.worst[scheme] = `${where}: ${t.tag}.${t.cls} ${t.color} on ${t.bg} "${t.text}"`;
          }
          if (t.ratio < MIN) fail(`${where}: ${t.ratio.toFixed(2)}:1 for <${t.tag} class="${t.cls}"> ${t.color} on ${t.bg}: "${t.text}"`);
        }
        if (!m.lang) fail(`${where}: <html> has no lang`);
        if (m.h1 !== 1) fail(`${where}: ${m.h1} <h1> elements (the title must be the only one)`);
        if (m.thWithoutScope) fail(`${where}: ${m.thWithoutScope} <th> without scope`);
        if (stem.includes("-zh") || stem === "2024-12-20-newsletter") {
          if (m.lang !== "zh") fail(`${where}: lang is ${m.lang}, not zh`);
          if (!m.font.includes("PingFang SC")) fail(`${where}: no CJK font fallback in ${m.font}`);
        }
        if (width === 375) {
          if (m.scrollWidth > m.viewport) fail(`${where}: the page is ${m.scrollWidth}px wide in a ${m.viewport}px viewport`);
          m.tables.forEach((t, i) => {
            if (t.wide && !t.wrapScrolls) fail(`${where}: table ${i} is wider than its column and does not scroll`);
            if (t.breaksWords) fail(`${where}: table ${i} breaks words inside cells`);
          });
        }
        await page.screenshot({ path: path.join(shots, `email-${stem}-${width}-${scheme}.png`), fullPage: true });
        if (docs && stem === "012-reviving-a-sleepy-starter") {
          await page.screenshot({ path: path.join(docs, `email-${width}-${scheme}.png`), fullPage: false });
        }
      }
    }
    await context.close();
  }
} finally {
  for (const d of userDataDirs) fs.rmSync(d, { recursive: true, force: true });
}

console.log("RESULT " + JSON.stringify(result));
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
