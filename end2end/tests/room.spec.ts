// The room user's panel against simulated devices: the volume fader driving
// a DSP, the projector's warm-up on a text tile and the display key, "All
// off" behind its question, a failing device, and the kiosk rules (PIN,
// no way off a wall panel, idle return, a new project keeping the page).
import { test, expect, type Page, type Browser } from "@playwright/test";
import * as path from "node:path";
import { Controller, RecordingDsp, Simulator, demoOn, demoProject, freePort, rawDemoProject } from "./controller";
import { checkAxe } from "./axe";

async function live(page: Page) {
  await expect(page.locator(".link")).toHaveAttribute("data-link", "live");
}

function key(page: Page, id: string) {
  return page.locator(`.page:not([hidden]) [data-button="${id}"]`);
}

function shot(page: Page, name: string) {
  if (process.env.SCREENSHOT_DIR) return page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, name) });
}

async function newPage(browser: Browser, viewport = { width: 1280, height: 800 }) {
  return (await browser.newContext({ viewport })).newPage();
}

test("a fader drag reaches the DSP coalesced and ending at the final value; the other panel follows; a failing DSP shows", async ({ browser }) => {
  const port = await freePort();
  const dsp = await RecordingDsp.start(port);
  const unused = await freePort();
  const controller = await Controller.create("", undefined, { project: demoOn({ projector: unused, matrix: unused, dsp: port }) });
  try {
    const a = await newPage(browser);
    const b = await newPage(browser);
    await a.goto(controller.url("/"));
    await b.goto(controller.wallUrl("/"));
    await live(a);
    await live(b);
    const fa = a.locator('.page:not([hidden]) [data-level="volume"] [role="slider"]');
    const fb = b.locator('.page:not([hidden]) [data-level="volume"] [role="slider"]');
    // The DSP reports -30 dB (its answer to the driver's subscription), as the project starts.
    await expect(fa).toHaveAttribute("aria-valuenow", "-30");

    const box = (await fa.boundingBox())!;
    const x = box.x + box.width / 2;
    const moves = 40;
    await a.mouse.move(x, box.y + box.height * 0.6);
    await a.mouse.down();
    for (let i = 1; i <= moves; i++) {
      await a.mouse.move(x, box.y + box.height * 0.6 - (i * box.height * 0.5) / moves);
    }
    // While dragging, the fader shows the finger's value.
    const final = Number(await fa.getAttribute("aria-valuenow"));
    await a.mouse.up();
    expect(final).toBeGreaterThan(-30);
    await expect(fa).toHaveAttribute("aria-valuenow", String(final));
    await expect(fb).toHaveAttribute("aria-valuenow", String(final));
    await expect(b.locator(".summary")).toContainText(`Volume: ${final} dB`);
    // The device got the final value last, and far fewer commands than moves.
    await expect.poll(() => dsp.received.at(-1)).toBe(final);
    console.log(`${moves} pointer moves -> ${dsp.received.length} VOL commands: ${dsp.received.join(", ")}`);
    expect(dsp.received.length).toBeLessThan(moves);
    await shot(a, "tablet-fader-1280x800.png");

    // The device fails: the panels say so.
    await dsp.stop();
    await expect(b.locator('.notice[data-key="device:dsp"]')).toContainText("The sound system is not responding");
    await expect(a.locator('.notice[data-key="device:dsp"]')).toBeVisible();
    await shot(b, "wall-device-down-1280x800.png");
    await checkAxe(b, "the wall panel with notices");
  } finally {
    await controller.dispose();
  }
});

// The raw-device demo against `roomctl simulate`'s projector, which warms up
// and cools down as a real one does (the library's PJLink simulator does not).
test("the projector's warm-up on the text tile and the display key; All off asks, then switches off", async ({ browser }) => {
  test.setTimeout(90_000);
  const [projector, matrix, simDsp, dsp] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const sim = await Simulator.start([
    "--projector", `127.0.0.1:${projector}`, "--matrix", `127.0.0.1:${matrix}`, "--dsp", `127.0.0.1:${simDsp}`,
    "--warmup-secs", "10", "--cooldown-secs", "1",
  ]);
  const controller = await Controller.create("", undefined, { project: demoOn({ projector, matrix, dsp }, (t) => t, rawDemoProject()) });
  try {
    const page = await newPage(browser);
    await page.goto(controller.wallUrl("/"));
    await live(page);
    const tile = page.locator(".page:not([hidden]) .text-tile");
    const display = key(page, "display_power");
    await expect(tile).toContainText("Projector: off");
    await expect(display).toHaveAttribute("aria-pressed", "false");
    await display.click();
    // Warming up: the countdown on the tile, the key striped (blinking), not filled.
    await expect(tile).toContainText(/warming up \d+ s/);
    await expect(display).toHaveAttribute("data-led", "slow_blink");
    await expect(display).toHaveAttribute("aria-pressed", "true");
    await shot(page, "wall-warming-up-1280x800.png");
    await expect(tile).toHaveText("Projector: on", { timeout: 20_000 });
    await expect(display).toHaveAttribute("data-led", "on");

    // All off asks first; Cancel changes nothing.
    const allOff = key(page, "all_off");
    await expect(allOff).not.toHaveAttribute("aria-pressed", /.*/);
    await allOff.click();
    const dialog = page.getByRole("alertdialog");
    await expect(dialog).toContainText("Switch the whole room off?");
    await checkAxe(page, "the confirm dialog");
    await shot(page, "wall-confirm-1280x800.png");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(dialog).toBeHidden();
    await expect(allOff).toBeFocused();
    await expect(display).toHaveAttribute("data-led", "on");
    await allOff.click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Confirm" }).click();
    await expect(display).toHaveAttribute("data-led", "off", { timeout: 15_000 });
    await expect(display).toHaveAttribute("aria-pressed", "false");
    await expect(tile).toHaveText("Projector: off");
  } finally {
    await controller.dispose();
    await sim.stop();
  }
});

test("a wrong PIN returns to the keypad with a message; the right one opens the panel", async ({ browser }) => {
  const project = demoProject().replace('profile = "tablet"', 'profile = "tablet"\npin = "2468"');
  const controller = await Controller.create("", undefined, { project });
  try {
    const page = await newPage(browser);
    await page.goto(controller.url("/"));
    const pad = page.getByRole("dialog", { name: "Enter PIN" });
    await expect(pad).toBeVisible();
    await checkAxe(page, "the PIN pad");
    const enter = async (pin: string) => {
      for (const d of pin) await pad.getByRole("button", { name: d, exact: true }).click();
      await pad.getByRole("button", { name: "OK" }).click();
    };
    await enter("1111");
    await expect(page.locator(".pin-message")).toHaveText("wrong PIN");
    await expect(pad).toBeVisible();
    await shot(page, "tablet-wrong-pin-1280x800.png");
    await enter("2468");
    await live(page);
    await expect(pad).toBeHidden();
    await key(page, "mute").click();
    await expect(key(page, "mute")).toHaveAttribute("aria-pressed", "true");
  } finally {
    await controller.dispose();
  }
});

/** Logs in on the admin page as `admin` with `password`. */
async function adminPage(browser: Browser, controller: Controller, password: string) {
  const admin = await newPage(browser);
  await admin.goto(controller.url("/admin"));
  await admin.getByLabel("User", { exact: true }).fill("admin");
  await admin.getByLabel("Password", { exact: true }).fill(password);
  await admin.getByRole("button", { name: "Log in" }).click();
  await expect(admin.locator("#admin-user")).toHaveText("admin");
  return admin;
}

/** Uploads the project `text` on the admin page and applies it. */
async function applyProject(admin: Page, text: string) {
  const name = /^name = "(.*)"$/m.exec(text)![1];
  await admin.getByLabel("Project file").setInputFiles({ name: "edited.toml", mimeType: "text/plain", buffer: Buffer.from(text) });
  await admin.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(admin.locator("#admin-result")).toContainText("Uploaded");
  await admin.getByRole("button", { name: "Apply the uploaded project" }).click();
  await expect(admin.locator("#admin-result")).toContainText(`Now running "${name}"`);
}

/** The marker set in the page's window survived: no page load since. */
async function notReloaded(page: Page) {
  expect(await page.evaluate(() => (window as unknown as { __noReload?: number }).__noReload)).toBe(1);
}

test("applying a project updates the panel in place: same page, new label, states kept, no reload", async ({ browser }) => {
  const controller = await Controller.create("", (c) => c.addUser("admin", "admin", "apply-keeps-secret"));
  try {
    const panel = await newPage(browser);
    await panel.goto(controller.url("/panel/tablet"));
    await live(panel);
    // The same panel opened at `/`, the port's default panel.
    const atRoot = await newPage(browser);
    await atRoot.goto(controller.url("/"));
    await expect(atRoot.locator(".panel")).toHaveAttribute("data-panel", "tablet");
    await panel.getByRole("tab", { name: "Lights" }).click();
    await key(panel, "light_dim").click();
    await expect(key(panel, "light_dim")).toHaveAttribute("aria-pressed", "true");
    await panel.evaluate(() => {
      (window as unknown as { __noReload: number }).__noReload = 1;
    });
    // A wall panel with All off's question open.
    const wall = await newPage(browser);
    await wall.goto(controller.wallUrl("/"));
    await live(wall);
    await key(wall, "all_off").click();
    await expect(wall.getByRole("alertdialog")).toContainText("Switch the whole room off?");
    await wall.evaluate(() => {
      (window as unknown as { __noReload: number }).__noReload = 1;
    });

    const admin = await adminPage(browser, controller, "apply-keeps-secret");
    await checkAxe(admin, "the admin page");
    const edited = (controller.project ?? demoProject())
      .replace(/^name = ".*"$/m, 'name = "Edited room"')
      .replace('label = "Full light"', 'label = "Bright light"');
    await applyProject(admin, edited);

    await expect(panel.locator(".room-name")).toHaveText("Edited room");
    await expect(key(panel, "light_full")).toContainText("Bright light");
    await live(panel);
    await notReloaded(panel);
    await expect(panel.getByRole("tab", { name: "Lights" })).toHaveAttribute("aria-selected", "true");
    await expect(key(panel, "light_dim")).toHaveAttribute("aria-pressed", "true");
    await expect(key(panel, "light_dim")).toHaveAttribute("data-led", "on");
    // The key that had the keyboard focus has it again.
    await expect(key(panel, "light_dim")).toBeFocused();
    await shot(panel, "applied-in-place.png");
    // The wall panel: still a wall panel, its question still open (its
    // button is still there).
    await expect(wall.locator(".room-name")).toHaveText("Edited room");
    await expect(wall.locator(".panel")).toHaveAttribute("data-profile", "wall");
    await expect(wall.getByRole("alertdialog")).toContainText("Switch the whole room off?");
    await notReloaded(wall);
    await checkAxe(panel, "the panel after a new layout");
    // The new layout is live: a press goes out and comes back.
    await key(panel, "light_off").click();
    await expect(key(panel, "light_off")).toHaveAttribute("aria-pressed", "true");
    await expect(key(panel, "light_dim")).toHaveAttribute("aria-pressed", "false");

    // The page shown removed: the first page.
    const smaller = edited
      .replace(/^name = ".*"$/m, 'name = "Smaller room"')
      .replace(/\[\[panels\.pages\]\]\nid = "lights"[\s\S]*?(?=\[\[panels\.pages\]\])/, "");
    expect(smaller).not.toMatch(/\[\[panels\.pages\]\]\nid = "lights"/);
    await applyProject(admin, smaller);
    await expect(panel.locator(".room-name")).toHaveText("Smaller room");
    await expect(panel.getByRole("tab", { name: "Lights" })).toHaveCount(0);
    await expect(panel.getByRole("tab", { name: "Room" })).toHaveAttribute("aria-selected", "true");
    await expect(key(panel, "display_power")).toBeVisible();
    await notReloaded(panel);
    await shot(panel, "applied-page-removed.png");

    // The panel itself removed: it says so, and comes back with it.
    const noTablet = smaller
      .replace(/^name = ".*"$/m, 'name = "Wall only"')
      .replace('confirm = "Switch the whole room off?"\n', "")
      .replace(/\[\[panels\]\]\nid = "tablet"[\s\S]*?(?=\[\[panels\]\])/, "");
    await applyProject(admin, noTablet);
    await expect(panel.getByRole("heading", { name: "This panel is not available" })).toBeVisible();
    await expect(panel.locator(".error-page")).toContainText('has no panel "tablet"');
    await expect(panel.locator(".error-page")).toContainText("comes back here by itself");
    await checkAxe(panel, "a panel gone from the project");
    await shot(panel, "applied-panel-removed.png");
    // At `/` the port's default panel is shown instead: now the wall panel.
    await expect(atRoot.locator(".panel")).toHaveAttribute("data-panel", "wall");
    await live(atRoot);
    // All off asks no more: the question is gone from the wall panel.
    await expect(wall.locator(".room-name")).toHaveText("Wall only");
    await expect(wall.getByRole("alertdialog")).toHaveCount(0);
    await expect(key(wall, "all_off")).not.toHaveAttribute("aria-haspopup", /.*/);
    await notReloaded(wall);
    await applyProject(admin, edited);
    await expect(panel.locator(".room-name")).toHaveText("Edited room");
    await live(panel);
    await notReloaded(panel);
  } finally {
    await controller.dispose();
  }
});

test("a PIN entered stays entered when a project is applied, unless the project changes it", async ({ browser }) => {
  const withPin = (pin: string, name: string) =>
    demoProject()
      .replace(/^name = ".*"$/m, `name = "${name}"`)
      .replace('profile = "tablet"', `profile = "tablet"\npin = "${pin}"`);
  const controller = await Controller.create("", (c) => c.addUser("admin", "admin", "pin-apply-secret"), {
    project: withPin("2468", "Demo meeting room"),
  });
  try {
    const panel = await newPage(browser);
    await panel.goto(controller.url("/"));
    const pad = panel.getByRole("dialog", { name: "Enter PIN" });
    const enter = async (pin: string) => {
      for (const d of pin) await pad.getByRole("button", { name: d, exact: true }).click();
      await pad.getByRole("button", { name: "OK" }).click();
    };
    await enter("2468");
    await live(panel);
    await panel.getByRole("tab", { name: "Audio" }).click();
    await panel.evaluate(() => {
      (window as unknown as { __noReload: number }).__noReload = 1;
    });
    const admin = await adminPage(browser, controller, "pin-apply-secret");

    // The same PIN: the new layout, no keypad.
    await applyProject(admin, withPin("2468", "Same PIN room"));
    await expect(panel.locator(".room-name")).toHaveText("Same PIN room");
    await live(panel);
    await expect(pad).toBeHidden();

    // A new PIN: the keypad says why; then the new layout, on its page.
    await applyProject(admin, withPin("1357", "New PIN room"));
    await expect(pad).toBeVisible();
    await expect(panel.locator(".pin-message")).toContainText("PIN has changed");
    await enter("1357");
    await live(panel);
    await expect(pad).toBeHidden();
    await expect(panel.locator(".room-name")).toHaveText("New PIN room");
    await expect(panel.getByRole("tab", { name: "Audio" })).toHaveAttribute("aria-selected", "true");
    await notReloaded(panel);
  } finally {
    await controller.dispose();
  }
});

test("a wall panel has no way off it, goes home when left alone; other pages lead back", async ({ browser }) => {
  test.setTimeout(60_000);
  const project = demoProject().replace("idle_secs = 120", "idle_secs = 10");
  const controller = await Controller.create("", undefined, { project });
  try {
    const wall = await newPage(browser);
    await wall.goto(controller.wallUrl("/"));
    await live(wall);
    await expect(wall.locator(".panel a")).toHaveCount(0);
    await wall.getByRole("tab", { name: "Lights" }).click();
    await expect(wall.getByRole("tab", { name: "Lights" })).toHaveAttribute("aria-selected", "true");
    await expect(wall.getByRole("tab", { name: "Presentation" })).toHaveAttribute("aria-selected", "true", { timeout: 20_000 });

    // Status and login pages (reached from a tablet) have a way back, and zoom.
    const page = await newPage(browser);
    await page.goto(controller.url("/status"));
    await page.getByRole("link", { name: "Back to the panel" }).click();
    await expect(page.locator(".panel")).toHaveAttribute("data-panel", "tablet");
    await page.goto(controller.url("/login?next=/status"));
    await expect(page.getByRole("link", { name: "Back to the panel" })).toHaveAttribute("href", "/");
    const viewport = await page.locator('meta[name="viewport"]').getAttribute("content");
    expect(viewport).not.toContain("user-scalable=no");
  } finally {
    await controller.dispose();
  }
});

test("phone and portrait: the panel reflows; icons for the home screen", async ({ browser }) => {
  const controller = await Controller.create();
  try {
    const phone = await newPage(browser, { width: 390, height: 844 });
    await phone.goto(controller.url("/"));
    await live(phone);
    // Nothing wider than the screen.
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    for (const id of ["display_power", "all_off", "src_hdmi1"]) {
      const b = (await key(phone, id).boundingBox())!;
      expect(b.x).toBeGreaterThanOrEqual(0);
      expect(b.x + b.width).toBeLessThanOrEqual(390);
    }
    await checkAxe(phone, "the tablet panel on a phone");
    if (process.env.SCREENSHOT_DIR) await phone.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, "tablet-phone-390x844.png"), fullPage: true });
    const status = await newPage(browser, { width: 390, height: 844 });
    await status.goto(controller.url("/status"));
    expect(await status.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    const manifest = await (await fetch(controller.url("/manifest.webmanifest"))).json();
    const sizes = manifest.icons.map((i: { sizes: string; purpose: string }) => `${i.sizes} ${i.purpose}`);
    expect(sizes).toEqual(expect.arrayContaining(["192x192 any", "512x512 any", "512x512 maskable"]));
    for (const file of ["/icon-192.png", "/icon-512.png", "/icon-maskable-512.png", "/apple-touch-icon.png"]) {
      const r = await fetch(controller.url(file));
      expect(r.headers.get("content-type"), file).toContain("image/png");
    }
    await expect(phone.locator('link[rel="apple-touch-icon"]')).toHaveAttribute("href", "/apple-touch-icon.png");
  } finally {
    await controller.dispose();
  }
});
