// axe-core (from node_modules, injected as a script: no network) on the
// page as it is now; fails on any critical or serious violation.
import { expect, type Page } from "@playwright/test";

type Violation = { id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> };

export async function checkAxe(page: Page, label: string) {
  await page.addScriptTag({ path: require.resolve("axe-core/axe.min.js") });
  const violations: Violation[] = await page.evaluate(async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const result = await (window as any).axe.run(document, { resultTypes: ["violations"] });
    return result.violations;
  });
  const bad = violations
    .filter((v) => v.impact === "critical" || v.impact === "serious")
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => JSON.stringify(n.target)).join(", ")})`);
  expect(bad, `accessibility violations on ${label}`).toEqual([]);
}
