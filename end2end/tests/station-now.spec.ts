// The station's "now" view (docs/station.md, docs/calendar.md) against
// three real controllers on loopback, two of them reading their bookings
// from a real CalDAV server (Radicale): a room booked and left empty, a
// free room someone starts using, and a room without a calendar. The view
// and the room cards follow the rooms live; the usage page counts booked
// hours. Axe-clean; fits a 390 px phone.
import { test, expect, type Page } from "@playwright/test";
import { Controller, Radicale, Station, icsEvent } from "./controller";
import { checkAxe } from "./axe";

const ACCOUNT = "station";
const ACCOUNT_PW = "station-e2e-words";
const OPS = "ops";
const OPS_PW = "ops-e2e-words";
const MINUTE = 60_000;
const hm = (d: Date) => d.toISOString().slice(11, 16);

/** The booking variables the station reads (docs/calendar.md). */
const BOOKING = ["calendar_busy:bool", "free_all_day:bool", "meeting_title", "meeting_end", "free_until", "next_meeting_start", "next_meeting_title"]
  .map((v) => {
    const [id, kind] = v.split(":");
    return `\n[[variables]]\nid = "${id}"\n${kind ? `kind = "${kind}"\n` : ""}`;
  })
  .join("");

/** A room with a display key (the station's `display_buttons`) and, when
 * it has a calendar, the booking variables the station reads. */
const ROOM = (name: string, location: string, calendar: boolean) => `
[project]
name = "${name}"
location = "${location}"

[[buttons]]
id = "display_power"
label = "Display"
kind = "toggle"
${calendar ? BOOKING : ""}
[[panels]]
id = "tablet"
name = "Tablet"
columns = 2
rows = 1

[[panels.pages]]
id = "main"
title = "Room"
buttons = [ { button = "display_power", row = 0, col = 0 } ]
`;

let dav: Radicale;
let rooms: Controller[] = [];
let station: Station;
let end: Date;
let next: Date;

test.beforeEach(async () => {
  dav = await Radicale.start();
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  // The rooms' day is UTC's, and room B is "Free until" a booking later
  // today: the bookings stay before midnight (a run at 23:27 once put
  // room B's at 00:12, tomorrow, and the room rightly said "Free all
  // day"). In the last quarter hour of a day there is no room for them.
  const midnight = new Date(now);
  midnight.setUTCHours(24, 0, 0, 0);
  const left = midnight.getTime() - now.getTime();
  test.skip(left < 15 * MINUTE, "the day ends before the bookings would");
  end = new Date(now.getTime() + Math.min(40 * MINUTE, Math.floor(left / 3)));
  next = new Date(now.getTime() + Math.min(50 * MINUTE, Math.floor((2 * left) / 3)));
  await dav.makeCalendar("/room/a/");
  await dav.makeCalendar("/room/b/");
  await dav.put("/room/a/review.ics", icsEvent("review@roomctl.test", "Design review", new Date(now.getTime() - 20 * MINUTE), end));
  await dav.put("/room/b/budget.ics", icsEvent("budget@roomctl.test", "Budget", next, new Date(next.getTime() + 30 * MINUTE)));
  const specs: Array<[string, string, string]> = [
    ["Room A", "Building A, floor 1", dav.settings("/room/a/", "room", 'privacy = "title"')],
    ["Room B", "Building A, floor 2", dav.settings("/room/b/", "room", 'privacy = "title"')],
    ["Room C", "Building B", ""],
  ];
  rooms = [];
  for (const [name, location, calendar] of specs) {
    rooms.push(
      await Controller.create(calendar, (c) => c.addUser(ACCOUNT, "operator", ACCOUNT_PW), {
        name,
        central: true,
        project: ROOM(name, location, calendar !== ""),
      }),
    );
  }
  station = await Station.create(rooms, ACCOUNT, ACCOUNT_PW);
  station.addUser(OPS, "admin", OPS_PW);
  await station.start();
});

test.afterEach(async () => {
  await station?.dispose();
  for (const r of rooms) await r.dispose();
  await dav?.stop();
});

async function logIn(page: Page) {
  await page.goto(station.url("/login"));
  await page.getByLabel("User", { exact: true }).fill(OPS);
  await page.getByLabel("Password", { exact: true }).fill(OPS_PW);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(station.url("/"));
}

test("the now view shows every room booked, free or in use, live", async ({ page, context }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await logIn(page);
  // The cards say it too.
  const card = (name: string) => page.locator(".st-card", { has: page.locator(".st-name", { hasText: name }) });
  await expect(card("Room A").locator(".st-day")).toHaveText(`Booked until ${hm(end)} \u00b7 not in use`);

  await page.getByRole("link", { name: "Now", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Now");
  const row = (name: string) => page.locator(".st-now tbody tr", { has: page.locator(".st-name", { hasText: name }) });
  // Booked and empty first; the meeting as the room shows it (privacy "title").
  await expect(page.locator(".st-now tbody tr .st-name")).toHaveText(["Room A", "Room B", "Room C"]);
  await expect(row("Room A")).toHaveAttribute("data-booked", "true");
  await expect(row("Room A").locator(".st-meeting")).toHaveText("Design review");
  await expect(row("Room B").locator(".st-day")).toHaveText(`Free until ${hm(next)}`);
  await expect(row("Room B").locator(".st-next")).toHaveText(`${hm(next)} Budget`);
  await expect(row("Room C").locator(".st-day")).toHaveText("Not in use");
  await expect(page.locator(".st-now-summary")).toHaveText(
    "3 rooms: 0 in use, 1 booked, 1 booked but not in use, 1 free",
  );
  await checkAxe(page, "the station's now view");
  await page.screenshot({ path: test.info().outputPath("station-now.png"), fullPage: true });

  // Someone switches room B's display on from its panel: in use, not booked,
  // without reloading the view.
  const panel = await context.newPage();
  await panel.goto(rooms[1].url("/"));
  await expect(panel.locator(".link")).toHaveAttribute("data-link", "live");
  await panel.locator('[data-button="display_power"]').click();
  await expect(row("Room B").locator(".st-day")).toHaveText("In use \u00b7 not booked");
  await expect(row("Room B")).toHaveAttribute("data-in-use", "true");
  // And room A's display: in use during its booking.
  await panel.goto(rooms[0].url("/"));
  await expect(panel.locator(".link")).toHaveAttribute("data-link", "live");
  await panel.locator('[data-button="display_power"]').click();
  await expect(row("Room A").locator(".st-day")).toHaveText(`Booked until ${hm(end)} \u00b7 in use`);
  await panel.close();
  // The view keeps its order live: in use without a booking now comes first.
  await expect(page.locator(".st-now tbody tr .st-name")).toHaveText(["Room B", "Room A", "Room C"]);
  await expect(page.locator(".st-now-summary")).toHaveText(
    "3 rooms: 2 in use, 1 booked, 0 booked but not in use, 1 free",
  );

  // The usage page counts room A's booking and the CSV has the columns.
  await page.goto(station.url("/usage?period=day"));
  const usageRow = page.locator(".st-table tr", { has: page.locator('th[scope="row"]', { hasText: "Room A" }) });
  await expect(usageRow).toHaveCount(1);
  await checkAxe(page, "the usage page with booked hours");
  const csv = await (await page.request.get(station.url("/usage.csv?period=day"))).text();
  expect(csv.split("\n")[0]).toContain(",booked_hours,occupied_hours,booked_unused,used_unbooked");
  expect(csv).toContain("room,Room A,Building A,day,");

  // A phone: the view fits, its table scrolls in its own region.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(station.url("/now"));
  await expect(row("Room A")).toBeVisible();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(390);
  await checkAxe(page, "the now view at 390 px");
  await page.screenshot({ path: test.info().outputPath("station-now-phone.png"), fullPage: true });
  expect(errors).toEqual([]);
});
