import { test, expect, type Page } from "@playwright/test";
import * as path from "node:path";
import { Controller } from "./controller";
import { checkAxe } from "./axe";

let controller: Controller;

test.beforeEach(async () => {
  controller = await Controller.create("", (c) => c.addUser("admin", "admin", "axe-check-secret"));
});

test.afterEach(async () => {
  await controller.dispose();
});

async function live(page: Page) {
  await expect(page.locator(".link")).toHaveAttribute("data-link", "live");
}

function volume(page: Page) {
  return page.locator('.page:not([hidden]) [data-level="volume"] [role="slider"]');
}

test("dragging the volume fader on one panel moves it on the other", async ({ browser }) => {
  const a = await (await browser.newContext()).newPage();
  const b = await (await browser.newContext()).newPage();
  await a.goto(controller.url("/"));
  await b.goto(controller.wallUrl("/"));
  await live(a);
  await live(b);
  const fa = volume(a);
  const fb = volume(b);
  // What the simulated Tesira reports for its level block (0 dB), not the
  // project's initial -30: the device's state wins once it answers.
  await expect(fa).toHaveAttribute("aria-valuenow", "0");
  await expect(fb).toHaveAttribute("aria-valuenow", "0");
  await expect(fa).toHaveAttribute("aria-valuemin", "-60");
  await expect(fa).toHaveAttribute("aria-valuemax", "10");

  const box = (await fa.boundingBox())!;
  const x = box.x + box.width / 2;
  await a.mouse.move(x, box.y + box.height / 2);
  await a.mouse.down();
  for (let i = 1; i <= 10; i++) {
    await a.mouse.move(x, box.y + box.height / 2 - (i * box.height) / 25);
  }
  await a.mouse.move(x, box.y + box.height * 0.1);
  await a.mouse.up();
  const now = Number(await fa.getAttribute("aria-valuenow"));
  expect(now).toBeGreaterThan(-30);
  // The other panel follows, and both settle on the controller's value.
  await expect(fb).toHaveAttribute("aria-valuenow", String(now));
  await expect(fa).toHaveAttribute("aria-valuenow", String(now));
  await expect(b.locator('.page:not([hidden]) [data-level="volume"] .fader-value')).toHaveText(`${now} dB`);
  // The summary bar shows it too.
  await expect(b.locator(".summary")).toContainText(`Volume: ${now} dB`);

  // Keyboard: one step down per arrow.
  await fa.focus();
  await a.keyboard.press("ArrowDown");
  await expect(fb).toHaveAttribute("aria-valuenow", String(now - 0.5));

  // The mute is a toggle on the fader.
  const mute = a.locator('.page:not([hidden]) [data-level="volume"] .fader-mute');
  await expect(mute).toHaveAttribute("aria-pressed", "false");
  await mute.click();
  await expect(b.locator('.page:not([hidden]) [data-level="volume"] .fader-mute')).toHaveAttribute("aria-pressed", "true");

  if (process.env.SCREENSHOT_DIR) {
    await a.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, "panel-fader.png") });
    await b.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, "wall-fader.png") });
  }
});

test("a text tile and the summary show variables; the audio page has a meter", async ({ page }) => {
  await page.goto(controller.url("/"));
  await live(page);
  // What the simulated projector reports (standby), in the project's words.
  await expect(page.locator(".page:not([hidden]) .text-tile")).toContainText("Projector: off");
  await expect(page.locator(".summary")).toContainText("Display: off");
  await page.getByRole("tab", { name: "Audio" }).click();
  const meter = page.locator('.page:not([hidden]) [data-level="mic"] [role="meter"]');
  await expect(meter).toHaveAttribute("aria-valuemax", "0");
  // The demo's DSP driver reports no microphone level: the meter rests at its floor.
  await expect(meter).toHaveAttribute("aria-valuenow", "-60");
});

test("no critical or serious accessibility violations", async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(controller.url("/"));
  await live(page);
  await checkAxe(page, "the tablet panel");
  await page.goto(controller.wallUrl("/"));
  await live(page);
  await checkAxe(page, "the wall panel");
  await page.goto(controller.url("/login?next=/status"));
  await checkAxe(page, "the login page");
  await page.getByLabel("User", { exact: true }).fill("admin");
  await page.getByLabel("Password", { exact: true }).fill("axe-check-secret");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/status$/);
  await expect(page.getByRole("heading", { name: "Network services" })).toBeVisible();
  await checkAxe(page, "the status page");
});
