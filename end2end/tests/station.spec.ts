// The central station against three real controllers on loopback: the
// grid shows them live; a room's page is the room's real panel (in a
// frame, its live channel relayed by the station to the room): its
// templates rendered, a fader that moves the room's level, the project's
// confirmation question, and a press that lights the LED on that room's
// own panel; a room that stops raises an offline alert that an operator
// acknowledges, the usage page counts the press, and every station page
// passes axe-core and fits a 390 px phone.
import { test, expect, type Page } from "@playwright/test";
import { Controller, Station } from "./controller";
import { checkAxe } from "./axe";

const ACCOUNT = "station";
const ACCOUNT_PW = "station-e2e-words";
const OPS = "ops";
const OPS_PW = "ops-e2e-words";

let rooms: Controller[] = [];
let station: Station;

test.beforeEach(async () => {
  rooms = [];
  for (const name of ["Room A", "Room B", "Room C"]) {
    rooms.push(await Controller.create("", (c) => c.addUser(ACCOUNT, "operator", ACCOUNT_PW), { name, central: true }));
  }
  station = await Station.create(rooms, ACCOUNT, ACCOUNT_PW);
  station.addUser(OPS, "admin", OPS_PW);
  await station.start();
});

test.afterEach(async () => {
  await station?.dispose();
  for (const r of rooms) await r.dispose();
});

async function shot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

async function logIn(page: Page) {
  await page.goto(station.url("/"));
  await expect(page).toHaveURL(/\/login$/);
  await checkAxe(page, "station login");
  await shot(page, "station-login");
  await page.getByLabel("User", { exact: true }).fill(OPS);
  await page.getByLabel("Password", { exact: true }).fill(OPS_PW);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(station.url("/"));
}

test("the station shows three rooms, presses in one and its panel lights up", async ({ page, context }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await logIn(page);

  // The grid: three cards, all online (kept live by the event stream).
  const cards = page.locator(".st-card");
  await expect(cards).toHaveCount(3);
  await expect(page.locator(".st-card.online")).toHaveCount(3);
  await expect(page.locator(".st-summary")).toHaveText("3 of 3 rooms online");
  await expect(cards.locator(".st-name")).toHaveText(["Room A", "Room B", "Room C"]);
  await checkAxe(page, "station grid");
  await shot(page, "station-grid");

  // Room B's own panel, in another tab.
  const panel = await context.newPage();
  await panel.goto(rooms[1].url("/"));
  await expect(panel.locator(".link")).toHaveAttribute("data-link", "live");
  const panelMute = panel.locator('.page:not([hidden]) [data-button="mute"]');
  await expect(panelMute).toHaveAttribute("data-led", "off");

  // The station's page for room B: the room's real panel, in a frame.
  await page.getByRole("link", { name: "Room B" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Room B");
  const frame = page.frameLocator("iframe.st-panel-frame");
  await expect(frame.locator(".link")).toHaveAttribute("data-link", "live");
  const shown = frame.locator(".page:not([hidden])");
  // Its templates are the panel's own: rendered, never "{...}".
  await expect(shown).toContainText(/Projector: \w+/);
  await expect(shown).not.toContainText("{");
  await checkAxe(page, "station room page");
  await shot(page, "station-room");

  // A fader moves the room's level: the room's own panel follows.
  const volume = shown.getByRole("slider", { name: "Volume" });
  const panelVolume = panel.locator(".page:not([hidden])").getByRole("slider", { name: "Volume" });
  const before = (await volume.getAttribute("aria-valuenow")) ?? "";
  await expect(panelVolume).toHaveAttribute("aria-valuenow", before);
  await volume.focus();
  await volume.press("ArrowUp");
  await expect(volume).not.toHaveAttribute("aria-valuenow", before);
  const after = (await volume.getAttribute("aria-valuenow")) ?? "";
  expect(Number(after)).toBeGreaterThan(Number(before));
  await expect(panelVolume).toHaveAttribute("aria-valuenow", after);

  // "All off" asks the project's question first; Cancel leaves the room be.
  await shown.locator('[data-button="all_off"]').click();
  const question = frame.getByRole("alertdialog");
  await expect(question).toContainText("Switch the whole room off?");
  await shot(page, "station-room-confirm");
  await question.getByRole("button", { name: "Cancel" }).click();
  await expect(question).toHaveCount(0);

  // Mute, pressed in the station's frame, lights in the room.
  const mute = shown.locator('[data-button="mute"]');
  await expect(mute).toHaveAttribute("data-led", "off");
  await mute.click();
  await expect(panelMute).toHaveAttribute("data-led", "on");
  await expect(mute).toHaveAttribute("data-led", "on");

  // The panel page itself (what the frame shows), axe-checked on its own.
  const src = await page.locator("iframe.st-panel-frame").getAttribute("src");
  const framed = await context.newPage();
  framed.on("pageerror", (e) => errors.push(e.message));
  await framed.goto(station.url(src ?? ""));
  await expect(framed.locator(".link")).toHaveAttribute("data-link", "live");
  await checkAxe(framed, "a room's panel at the station");
  await framed.close();
  // Room A's panel did not change.
  expect(rooms[0].output).not.toContain("panic");
  await panel.close();

  // The grid card lists the lit button.
  await page.getByRole("link", { name: "Rooms" }).click();
  const card = (name: string) => page.locator(".st-card", { has: page.locator(".st-name", { hasText: name }) });
  await expect(card("Room B").locator(".st-lit")).toHaveText("Mute");

  // Room C stops: its card goes offline and an alert is raised.
  await rooms[2].stop();
  await expect(card("Room C")).toHaveClass(/offline/);
  await page.getByRole("link", { name: "Alerts" }).click();
  const alert = page
    .locator("tr.st-alert.open", { hasText: "Room C" })
    .filter({ has: page.locator("td:nth-child(2)", { hasText: /^offline$/ }) });
  await expect(async () => {
    await page.reload();
    await expect(alert).toHaveCount(1, { timeout: 500 });
  }).toPass({ timeout: 15_000 });
  await checkAxe(page, "station alerts");
  await shot(page, "station-alerts");
  await alert.getByRole("button", { name: "Acknowledge" }).click();
  await expect(alert).toContainText(`${OPS} (`);

  // Usage: the press counted for room B.
  await page.getByRole("link", { name: "Usage" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Usage");
  const rowB = page.locator("tr", { has: page.locator('th[scope="row"]', { hasText: "Room B" }) });
  await expect(async () => {
    await page.reload();
    await expect(rowB.locator("td.num").nth(1)).not.toHaveText("0", { timeout: 500 });
  }).toPass({ timeout: 15_000 });
  await expect(page.getByRole("img", { name: /Presses per day, per room/ })).toBeVisible();
  await checkAxe(page, "station usage");
  await shot(page, "station-usage");
  const csv = await page.request.get(station.url("/usage.csv?period=day"));
  expect(csv.status()).toBe(200);
  expect(await csv.text()).toContain("room,Room B,Building A,day,");
  expect(errors).toEqual([]);
});

test("on a 390 px phone no station page scrolls sideways, and the grid's filters work", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await logIn(page);
  await expect(page.locator(".st-card.online")).toHaveCount(3);
  const fits = async (label: string) => {
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width, `${label} is ${width} px wide`).toBeLessThanOrEqual(390);
  };
  await fits("the grid");

  // The filters, as the form sends them: "Offline" (none is), then "With alerts".
  await page.getByLabel("Offline").check();
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/offline=true/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Rooms");
  await expect(page.locator(".st-card")).toHaveCount(0);
  await expect(page.getByLabel("Offline")).toBeChecked();
  await page.getByLabel("Offline").uncheck();
  await page.getByLabel("With alerts").check();
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/alerts=true/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Rooms");
  await fits("the filtered grid");

  await page.goto(station.url("/"));
  await page.getByRole("link", { name: "Room B" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Room B");
  await expect(page.frameLocator("iframe.st-panel-frame").locator(".link")).toHaveAttribute("data-link", "live");
  await fits("a room page");
  await checkAxe(page, "station room page at 390 px");
  await shot(page, "station-room-phone");
  await page.getByRole("link", { name: "Alerts" }).click();
  await fits("the alerts");
  await page.getByRole("link", { name: "Usage" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Usage");
  await fits("the usage page");
  await shot(page, "station-usage-phone");
});
