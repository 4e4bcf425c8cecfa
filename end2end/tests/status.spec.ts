import { test, expect } from "@playwright/test";
import { Controller } from "./controller";
import { checkAxe } from "./axe";

test("the status page needs a login, then lists services and panels", async ({ browser }) => {
  const controller = await Controller.create("", (c) => c.addUser("admin", "admin", "status-page-secret"));
  try {
    const panel = await (await browser.newContext()).newPage();
    await panel.goto(controller.url("/"));
    await expect(panel.locator(".link")).toHaveAttribute("data-link", "live");

    const page = await (await browser.newContext()).newPage();
    await page.goto(controller.url("/status"));
    await expect(page.getByText("Log in to see the status page")).toBeVisible();
    await page.goto(controller.url("/login?next=/status"));
    await page.getByLabel("User", { exact: true }).fill("admin");
    await page.getByLabel("Password", { exact: true }).fill("wrong password");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByRole("alert")).toContainText("Wrong user name or password");
    await page.getByLabel("User", { exact: true }).fill("admin");
    await page.getByLabel("Password", { exact: true }).fill("status-page-secret");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page).toHaveURL(/\/status$/);
    await expect(page.getByRole("heading", { name: "Network services" })).toBeVisible();
    await expect(page.locator('tr[data-service="panel"] .state')).toHaveText("listening");
    await expect(page.locator('tr[data-service="panel"] .state')).toHaveAttribute("data-state", "listening");
    // Services switched off in the test's settings show as disabled, not as running.
    await expect(page.locator('tr[data-service="lookup"] .state')).toHaveAttribute("data-state", "disabled");
    await expect(page.getByRole("heading", { name: /Connected panels \(1\)/ })).toBeVisible();

    // The audit trail (an admin sees it): the wrong password, then the login.
    await expect(page.getByRole("heading", { name: "Audit trail" })).toBeVisible();
    const failed = page.locator('.audit-entries tr[data-event="login"][data-outcome="failed"]');
    await expect(failed).toHaveCount(1);
    await expect(failed).toContainText("admin");
    await expect(failed).toContainText("127.0.0.1");
    await expect(page.locator('.audit-entries tr[data-event="login"][data-outcome="ok"]')).toHaveCount(1);
    await page.screenshot({ path: test.info().outputPath("status-audit.png"), fullPage: true });
    // Every axe rule: the recent events' scrolling box can be focused
    // (and so scrolled from the keyboard), among the rest.
    await checkAxe(page, "/status");

    // The page refreshes itself: a press shows up as a new engine revision.
    const before = Number(await page.getByTestId("engine-revision").textContent());
    await panel.locator('.page:not([hidden]) [data-button="mute"]').click();
    await expect(page.getByTestId("engine-revision")).not.toHaveText(String(before));
  } finally {
    await controller.dispose();
  }
});
