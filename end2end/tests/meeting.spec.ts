// The panel's meeting tile (docs/calendar.md) against a real CalDAV server
// (Radicale on loopback): the meeting on now with its title and organiser,
// the time left, the next meeting; "Extend 15 min" and "End meeting", each
// confirmed, written back to the server; "Free until" after the end; and a
// read-only account, whose tile offers neither. Axe-clean, with
// screenshots at tablet and phone sizes.
import * as path from "node:path";
import { test, expect, type Page } from "@playwright/test";
import { checkAxe } from "./axe";
import { Controller, Radicale, icsEvent } from "./controller";

const PROJECT = `
[project]
name = "Board room"

[[buttons]]
id = "display"
label = "Display"
kind = "toggle"

[[buttons]]
id = "lights"
label = "Lights"
kind = "toggle"

[[panels]]
id = "tablet"
name = "Tablet"
columns = 4
rows = 3

[[panels.pages]]
id = "main"
title = "Room"
buttons = [ { button = "display", row = 0, col = 0, width = 2 }, { button = "lights", row = 0, col = 2, width = 2 } ]
meetings = [ { row = 1, col = 0, width = 4, height = 2 } ]
`;

const MINUTE = 60_000;
/** HH:MM in UTC (the room's time zone in these settings). */
const hm = (d: Date) => d.toISOString().slice(11, 16);

let dav: Radicale;
let controller: Controller | null = null;
let start: Date;
let end: Date;
let next: Date;

test.beforeEach(async () => {
  dav = await Radicale.start();
  await dav.makeCalendar("/room/board/");
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  start = new Date(now.getTime() - 30 * MINUTE);
  end = new Date(now.getTime() + 30 * MINUTE);
  next = new Date(end.getTime() + 60 * MINUTE);
  await dav.put("/room/board/review.ics", icsEvent("review@roomctl.test", "Design review", start, end));
  await dav.put(
    "/room/board/budget.ics",
    icsEvent("budget@roomctl.test", "Budget", next, new Date(next.getTime() + 60 * MINUTE), "Grace Hopper"),
  );
});

test.afterEach(async () => {
  await controller?.dispose();
  controller = null;
  await dav.stop();
});

async function live(page: Page) {
  await expect(page.locator(".link")).toHaveAttribute("data-link", "live");
}

/** The end of `uid` as the server has it now (DTEND, UTC). */
async function endOnServer(file: string): Promise<string> {
  const ics = await dav.get(file);
  return /DTEND[^:]*:(\d{8}T\d{6}Z)/.exec(ics)?.[1] ?? "";
}
const icsTime = (d: Date) => d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");

test("the meeting tile shows the meeting, extends and ends it on the server, then says free until", async ({
  browser,
}) => {
  controller = await Controller.create(
    dav.settings("/room/board/", "room", 'privacy = "title_and_organizer"'),
    undefined,
    { project: PROJECT },
  );
  const page = await (await browser.newContext({ viewport: { width: 1024, height: 768 } })).newPage();
  await page.goto(controller.url("/"));
  await live(page);
  const tile = page.locator(".meeting-tile");
  await expect(tile).toHaveAttribute("data-busy", "true");
  await expect(tile.locator(".meeting-title")).toHaveText("Design review");
  await expect(tile.locator(".meeting-organizer")).toHaveText("Ada Lovelace");
  await expect(tile.locator(".meeting-status")).toContainText(`${hm(start)}\u2013${hm(end)}`);
  await expect(tile.locator(".meeting-status")).toContainText("min left");
  await expect(tile.locator(".meeting-next")).toHaveText(`Next: ${hm(next)} Budget`);
  const extend = tile.getByRole("button", { name: "Extend 15 min" });
  const endMeeting = tile.getByRole("button", { name: "End meeting" });
  await expect(extend).toBeVisible();
  await expect(endMeeting).toBeVisible();
  await checkAxe(page, "the panel with a meeting on");

  // In the test's output; docs/screenshots too with UPDATE_SCREENSHOTS=1.
  const docs = path.resolve(__dirname, "..", "..", "docs", "screenshots");
  const shot = async (p: Page, file: string) => {
    await p.screenshot({ path: test.info().outputPath(file), fullPage: true });
    if (process.env.UPDATE_SCREENSHOTS) await p.screenshot({ path: path.join(docs, file), fullPage: true });
  };
  await shot(page, "meeting-tile-tablet-1024x768.png");
  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await phone.goto(controller.url("/"));
  await live(phone);
  await expect(phone.locator(".meeting-title")).toHaveText("Design review");
  await shot(phone, "meeting-tile-phone-390x844.png");
  await checkAxe(phone, "the panel on a phone with a meeting on");

  // Extend: asked first; Cancel changes nothing.
  await extend.click();
  const dialog = page.getByRole("alertdialog");
  await expect(dialog).toContainText("Extend the meeting by 15 minutes?");
  await checkAxe(page, "the extend question");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toHaveCount(0);
  expect(await endOnServer("/room/board/review.ics")).toBe(icsTime(end));
  await extend.click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Confirm" }).click();
  const extended = new Date(end.getTime() + 15 * MINUTE);
  await expect(tile.locator(".meeting-status")).toContainText(`\u2013${hm(extended)}`);
  // The other panel follows on its live channel.
  await expect(phone.locator(".meeting-status")).toContainText(`\u2013${hm(extended)}`);
  await expect.poll(() => endOnServer("/room/board/review.ics")).toBe(icsTime(extended));

  // End: the room is free until the next meeting.
  await endMeeting.click();
  await expect(page.getByRole("alertdialog")).toContainText("End the meeting now?");
  await page.getByRole("alertdialog").getByRole("button", { name: "Confirm" }).click();
  await expect(tile).toHaveAttribute("data-busy", "false");
  const sameDay = next.toISOString().slice(0, 10) === new Date().toISOString().slice(0, 10);
  await expect(tile.locator(".meeting-status")).toHaveText(sameDay ? `Free until ${hm(next)}` : "Free all day");
  await expect(tile.getByRole("button")).toHaveCount(0);
  const ended = await endOnServer("/room/board/review.ics");
  expect(ended <= icsTime(new Date(Date.now() + 1000)) && ended > icsTime(start), ended).toBe(true);
  await checkAxe(page, "the panel with the room free");
  await shot(page, "meeting-tile-free-tablet-1024x768.png");
});

test("a read-only calendar account shows the meeting as Busy and offers no change", async ({ page }) => {
  // The default privacy: "Busy", no organiser.
  controller = await Controller.create(dav.settings("/room/board/", "lobby"), undefined, { project: PROJECT });
  await page.goto(controller.url("/"));
  await live(page);
  const tile = page.locator(".meeting-tile");
  await expect(tile).toHaveAttribute("data-busy", "true");
  await expect(tile.locator(".meeting-title")).toHaveText("Busy");
  await expect(tile.locator(".meeting-organizer")).toHaveText("");
  await expect(tile.locator(".meeting-next")).toHaveText(`Next: ${hm(next)} Busy`);
  await expect(tile.getByRole("button")).toHaveCount(0);
  await checkAxe(page, "the read-only meeting tile");
});
