// Takes a screenshot of the built site: node tests/e2e/screenshot.mjs [out.png]
// (default docs/screenshot-matrix.png). TTPMAP_MATRIX=<file> stands in for
// matrices/enterprise.json when dist/ has none (otherwise the small test fixture does).

import path from "node:path";
import { startServer, launchBrowser, openPage, gotoApp, FALLBACKS, REPO_ROOT } from "./lib.mjs";

const out = path.resolve(process.argv[2] ?? path.join(REPO_ROOT, "docs", "screenshot-matrix.png"));
const fallbacks = { ...FALLBACKS };
if (process.env.TTPMAP_MATRIX) fallbacks["matrices/enterprise.json"] = path.resolve(process.env.TTPMAP_MATRIX);

const server = await startServer({ fallbacks });
const browser = await launchBrowser({ viewport: { width: 1680, height: 1050 } });
try {
  const opened = await openPage(browser.context);
  const { page } = opened;
  await gotoApp(opened, server.url);
  await page.getByTestId("report-input").fill(
    "The actor sent spearphishing emails with malicious Word attachments. " +
      "Once opened, a macro launched PowerShell to download a second-stage payload.",
  );
  // Show sub-techniques under a couple of parents, as a user would.
  for (const [tactic, id] of [["TA0001", "T1566"], ["TA0002", "T1059"]]) {
    const row = page.locator(`[data-tactic-id="${tactic}"] li.technique`, {
      has: page.locator(`[data-technique-id="${id}"]`),
    });
    if (await row.count()) await row.getByTestId("subtechnique-toggle").click();
  }
  await page.screenshot({ path: out, fullPage: false });
  console.log(`screenshot: ${out}`);
  await page.getByTestId("clear-button").click();
} finally {
  await browser.close();
  await server.close();
}
