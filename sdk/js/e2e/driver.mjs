// The browser side of e2e/jssdk_browser_test.go: drives Debian's Chromium
// headless through playwright-core (no browser download). Commands come
// as JSON lines on stdin ({cmd: "open", page, url} | {cmd: "reload", page}
// | {cmd: "eval", page, js} | {cmd: "close", page}); what the pages report
// goes to stdout as JSON lines {page, ...report}, and {page, ev: "done",
// cmd, data} after each command (data: what eval's expression gave).
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";

const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({
  executablePath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const pages = new Map();

async function open(name, url) {
  // A context per page: each its own IndexedDB, so its own device.
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.exposeFunction("opsyncReport", (json) => out({ page: name, ...JSON.parse(json) }));
  page.on("pageerror", (e) => out({ page: name, ev: "pageerror", message: String(e) }));
  page.on("console", (m) => {
    if (m.type() === "error") out({ page: name, ev: "console", message: m.text() });
  });
  await page.goto(url);
  pages.set(name, { ctx, page });
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  const c = JSON.parse(line);
  let data;
  try {
    switch (c.cmd) {
      case "open":
        await open(c.page, c.url);
        break;
      case "reload":
        await pages.get(c.page).page.reload();
        break;
      case "eval":
        data = String(await pages.get(c.page).page.evaluate(c.js));
        break;
      case "close":
        await pages.get(c.page).ctx.close();
        pages.delete(c.page);
        break;
      default:
        throw new Error(`unknown command ${c.cmd}`);
    }
    out({ page: c.page, ev: "done", cmd: c.cmd, data });
  } catch (e) {
    out({ page: c.page, ev: "failed", cmd: c.cmd, message: String(e) });
  }
}
await browser.close();
