// Takes screenshots of the built site:
//   node tests/e2e/screenshot.mjs matrix  [out.png]  the empty matrix (docs/screenshot-matrix.png)
//   node tests/e2e/screenshot.mjs heatmap [out.png]  a mapped report (docs/screenshot-heatmap.png)
//   node tests/e2e/screenshot.mjs evidence [out.png] the same with the best technique's
//                                                    evidence open (docs/screenshot-evidence.png)
// The heatmap maps tests/fixtures/report-5000w.txt (TTPMAP_REPORT=<file> for another) with
// the model in dist/. TTPMAP_MATRIX=<file> stands in for matrices/enterprise.json when
// dist/ has none (otherwise the small test fixture does).

import path from "node:path";
import { readFile } from "node:fs/promises";
import { startServer, launchBrowser, openPage, gotoApp, waitForState, FALLBACKS, REPO_ROOT } from "./lib.mjs";

const what = process.argv[2] ?? "heatmap";
const out = path.resolve(process.argv[3] ?? path.join(REPO_ROOT, "docs", `screenshot-${what}.png`));
const fallbacks = { ...FALLBACKS };
if (process.env.TTPMAP_MATRIX) fallbacks["matrices/enterprise.json"] = path.resolve(process.env.TTPMAP_MATRIX);

const server = await startServer({ fallbacks });
// Wide enough for all 14 Enterprise tactics side by side.
const viewport = what === "heatmap" ? { width: 2048, height: 1152 } : { width: 1680, height: 1050 };
const browser = await launchBrowser({ viewport });
try {
  const opened = await openPage(browser.context);
  const { page } = opened;
  await gotoApp(opened, server.url);
  if (what === "matrix") {
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
  } else {
    const reportFile = process.env.TTPMAP_REPORT ?? path.join(REPO_ROOT, "tests/fixtures/report-5000w.txt");
    await page.getByTestId("report-input").fill(await readFile(reportFile, "utf8"));
    await page.getByTestId("map-button").click();
    await waitForState(opened, "done", { timeout: 900_000 });
    await page.getByTestId("sort-by-score").check();
    // For "evidence", open the evidence of the best-scored technique, as an analyst would.
    const best = await page.locator('[data-testid="heatmap"] [data-score]').evaluateAll((els) =>
      els.sort((a, b) => b.dataset.score - a.dataset.score)[0]?.dataset.techniqueId,
    );
    if (best && what === "evidence") await page.locator(`[data-testid="heatmap"] [data-technique-id="${best}"]`).first().click();
    // The toolbar and the heatmap fill the view; the report box is above.
    await page.evaluate(() => {
      const bar = document.querySelector(".toolbar");
      window.scrollTo(0, bar.getBoundingClientRect().top + window.scrollY - 8);
    });
    await page.waitForTimeout(1500); // the highlight's flash fades
    await page.screenshot({ path: out, fullPage: false });
  }
  console.log(`screenshot: ${out}`);
  await page.getByTestId("clear-button").click();
} finally {
  await browser.close();
  await server.close();
}
