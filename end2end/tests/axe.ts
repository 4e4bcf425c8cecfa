// axe-core in Playwright: checkAxe(page, label) runs every axe rule on the
// page as it is now and fails with each violation (rule, impact, help and
// the first elements it found) when there is any. Generic: any spec may
// use it for its pages.
import { expect, Page } from "@playwright/test";
import * as fs from "node:fs";

const axeSource = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export async function checkAxe(page: Page, label: string): Promise<void> {
  // Evaluated, not added as a <script>: the pages' Content-Security-Policy
  // (rightly) refuses inline scripts without its nonce.
  await page.evaluate(axeSource);
  const violations: string[] = await page.evaluate(async () => {
    const axe = (window as any).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map(
      (v: any) =>
        `${v.id} (${v.impact}): ${v.help}\n    ` +
        v.nodes
          .slice(0, 5)
          .map((n: any) => n.target.join(" ") + " — " + (n.failureSummary || "").replace(/\n/g, " "))
          .join("\n    "),
    );
  });
  expect(violations, `axe-core on ${label}`).toEqual([]);
}
