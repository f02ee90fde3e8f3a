// The one way the page tests start headless Chromium: a throwaway profile,
// no background traffic, and an exit code the Rust test reads (0 when `run`
// resolved, 1 with the stack on standard error when it threw).
import { chromium } from "playwright-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Runs `run(context)` in a fresh persistent context of the given viewport,
 * then `cleanup()` (if any), closes the browser and exits the process. */
export async function inChromium(viewport, run, cleanup = () => {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lp-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
    ],
    viewport,
  });
  let failed = null;
  try {
    await run(context);
  } catch (e) {
    failed = e;
  } finally {
    cleanup();
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  if (failed) {
    console.error(failed.stack || String(failed));
    process.exit(1);
  }
  process.exit(0);
}
