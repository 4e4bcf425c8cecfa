// axe-core in the page: fails the test on any critical or serious
// accessibility violation, listing each with the elements it found.
import { expect, type Page } from "@playwright/test";
import * as path from "node:path";

const axeSource = path.join(path.dirname(require.resolve("axe-core")), "axe.min.js");

export async function checkAxe(page: Page, label: string): Promise<void> {
  await page.addScriptTag({ path: axeSource });
  const results = await page.evaluate(async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const axe = (window as any).axe;
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v: { id: string; impact: string; help: string; nodes: { target: string[] }[] }) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(" ")),
    }));
  });
  const bad = results.filter((v: { impact: string }) => v.impact === "critical" || v.impact === "serious");
  expect(bad, `axe-core on ${label}: ${JSON.stringify(bad, null, 2)}`).toEqual([]);
}
