import * as net from "node:net";
import { test, expect, type Page } from "@playwright/test";
import * as path from "node:path";
import { Controller } from "./controller";

let controller: Controller;

test.beforeEach(async () => {
  controller = await Controller.create();
});

test.afterEach(async () => {
  await controller.dispose();
});

/** Waits until the panel has hydrated and its live channel is up. */
async function live(page: Page) {
  await expect(page.locator(".link")).toHaveAttribute("data-link", "live");
}

function key(page: Page, id: string) {
  return page.locator(`.page:not([hidden]) [data-button="${id}"]`);
}

test("the panel shows the demo room and a toggle lights its LED", async ({ page }) => {
  // Hydration must take over the server's page without a single error.
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(controller.url("/"));
  await expect(page.locator(".room-name")).toHaveText("Demo meeting room");
  await live(page);
  const display = key(page, "mute");
  await expect(display).toHaveAttribute("data-led", "off");
  await expect(display).toHaveAttribute("aria-pressed", "false");
  await display.click();
  await expect(display).toHaveAttribute("data-led", "on");
  await expect(display).toHaveAttribute("aria-pressed", "true");
  await display.click();
  await expect(display).toHaveAttribute("data-led", "off");
  expect(errors).toEqual([]);
});

test("under its Content-Security-Policy the panel hydrates, over HTTP and HTTPS, with no violation", async ({ browser }) => {
  // The controller's certificate is its own (generated at first start):
  // this browser has not been told to trust it.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  for (const url of [controller.url("/"), controller.httpsUrl("/")]) {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (e) =>
        console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    const response = await page.goto(url);
    const csp = response?.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("'nonce-");
    expect(csp).toContain("frame-ancestors 'none'");
    await live(page);
    await key(page, "mute").click();
    await expect(key(page, "mute")).toHaveAttribute("data-led", "on");
    await key(page, "mute").click();
    await expect(key(page, "mute")).toHaveAttribute("data-led", "off");
    expect(errors, url).toEqual([]);
    await page.close();
  }
  await context.close();
});

test("interlocked sources: one selected at a time", async ({ page }) => {
  await page.goto(controller.url("/"));
  await live(page);
  await key(page, "src_hdmi1").click();
  await expect(key(page, "src_hdmi1")).toHaveAttribute("data-led", "on");
  await key(page, "src_pc").click();
  await expect(key(page, "src_pc")).toHaveAttribute("data-led", "on");
  await expect(key(page, "src_hdmi1")).toHaveAttribute("data-led", "off");
});

test("page navigation shows the other pages", async ({ page }) => {
  await page.goto(controller.url("/"));
  await live(page);
  await page.getByRole("tab", { name: "Lights" }).click();
  await expect(key(page, "light_dim")).toBeVisible();
  await key(page, "light_dim").click();
  await expect(key(page, "light_dim")).toHaveAttribute("data-led", "on");
});

test("arrow keys, Home and End move between the page tabs (the ARIA tabs pattern)", async ({ page }) => {
  await page.goto(controller.url("/"));
  await live(page);
  const room = page.getByRole("tab", { name: "Room" });
  const lights = page.getByRole("tab", { name: "Lights" });
  const audio = page.getByRole("tab", { name: "Audio" });
  // One tab in the Tab order: the shown page's.
  await expect(room).toHaveAttribute("tabindex", "0");
  await expect(lights).toHaveAttribute("tabindex", "-1");
  await room.focus();
  await page.keyboard.press("ArrowRight");
  await expect(lights).toBeFocused();
  await expect(lights).toHaveAttribute("aria-selected", "true");
  await expect(lights).toHaveAttribute("tabindex", "0");
  await expect(room).toHaveAttribute("tabindex", "-1");
  await expect(key(page, "light_dim")).toBeVisible();
  await page.keyboard.press("End");
  await expect(audio).toBeFocused();
  await expect(audio).toHaveAttribute("aria-selected", "true");
  // Past the last tab: the first; before the first: the last.
  await page.keyboard.press("ArrowRight");
  await expect(room).toBeFocused();
  await page.keyboard.press("ArrowLeft");
  await expect(audio).toBeFocused();
  await page.keyboard.press("Home");
  await expect(room).toBeFocused();
  await expect(room).toHaveAttribute("aria-selected", "true");
  await expect(key(page, "mute")).toBeVisible();
});

test("a press on one panel lights the LED on both", async ({ browser }) => {
  const a = await (await browser.newContext()).newPage();
  const b = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await a.goto(controller.url("/"));
  await b.goto(controller.wallUrl("/"));
  await live(a);
  await live(b);
  await key(a, "src_hdmi2").click();
  await expect(key(b, "src_hdmi2")).toHaveAttribute("data-led", "on");
  await expect(key(a, "src_hdmi2")).toHaveAttribute("data-led", "on");
  await key(b, "mute").click();
  await expect(key(a, "mute")).toHaveAttribute("data-led", "on");
});

test("server restart: panels show disconnected, then recover the correct state", async ({ browser }) => {
  const a = await (await browser.newContext()).newPage();
  const b = await (await browser.newContext()).newPage();
  await a.goto(controller.url("/"));
  await b.goto(controller.url("/"));
  await live(a);
  await live(b);
  await key(a, "mute").click();
  await expect(key(b, "mute")).toHaveAttribute("data-led", "on");

  await controller.stop();
  for (const p of [a, b]) {
    await expect(p.locator(".link")).toHaveAttribute("data-link", "lost");
    await expect(p.getByRole("alert")).toContainText("Connection to the controller lost");
    await expect(p.locator(".panel")).toHaveClass(/stale/);
  }

  // While the controller is down, someone unmutes the DSP at the rack: the
  // restarted controller reads the device, and the panels must show that
  // state, not the one they had before.
  await new Promise<void>((resolve, reject) => {
    const s = net.connect(controller.devicePorts!.dsp, "127.0.0.1", () => s.end("MUTE 0\r", () => resolve()));
    s.on("error", reject);
  });
  await controller.start();
  for (const p of [a, b]) {
    await live(p);
    await expect(p.locator(".panel")).not.toHaveClass(/stale/);
    await expect(key(p, "mute")).toHaveAttribute("data-led", "off");
  }
  await key(b, "src_pc").click();
  await expect(key(a, "src_pc")).toHaveAttribute("data-led", "on");
});

test("the Apprimo port serves the wall-panel layout", async ({ page }) => {
  await page.goto(controller.wallUrl("/"));
  await expect(page.locator(".panel")).toHaveAttribute("data-panel", "wall");
  await expect(page.locator(".panel")).toHaveAttribute("data-profile", "wall");
  await live(page);
  await expect(page.getByRole("tab", { name: "Presentation" })).toBeVisible();
  // The panel port still opens the tablet layout.
  await page.goto(controller.url("/"));
  await expect(page.locator(".panel")).toHaveAttribute("data-panel", "tablet");
});

test("screenshots of each layout (docs/screenshots)", async ({ browser }) => {
  const out = path.resolve(__dirname, "..", "..", "docs", "screenshots");
  const shots: Array<[string, string, { width: number; height: number }]> = [
    ["wall-1280x800.png", controller.wallUrl("/"), { width: 1280, height: 800 }],
    ["tablet-landscape-1280x800.png", controller.url("/"), { width: 1280, height: 800 }],
    ["tablet-portrait-800x1280.png", controller.url("/"), { width: 800, height: 1280 }],
  ];
  for (const [file, url, viewport] of shots) {
    const page = await (await browser.newContext({ viewport })).newPage();
    await page.goto(url);
    await live(page);
    await key(page, "src_hdmi1").click();
    await expect(key(page, "src_hdmi1")).toHaveAttribute("data-led", "on");
    if (process.env.UPDATE_SCREENSHOTS) {
      await page.screenshot({ path: path.join(out, file) });
    }
    await key(page, "src_hdmi1").click();
  }
});

test("switching layout from the footer gives a live panel of the new layout", async ({ browser }) => {
  const a = await (await browser.newContext()).newPage();
  const b = await (await browser.newContext()).newPage();
  await a.goto(controller.url("/"));
  await live(a);
  await a.getByRole("link", { name: "Wall panel" }).click();
  await expect(a.locator(".panel")).toHaveAttribute("data-panel", "wall");
  await live(a);
  await b.goto(controller.url("/"));
  await live(b);
  await key(b, "mute").click();
  await expect(key(a, "mute")).toHaveAttribute("data-led", "on");
});
