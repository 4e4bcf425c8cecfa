// The room user's notices when devices fail: in their words, laid over the
// page (five of them neither move the keys nor squash a fader), collapsed
// to one line with a count, each dismissable, cleared by themselves when
// the device is back, and accessible. Screenshots at tablet and phone size
// (SCREENSHOT_DIR).
import { test, expect, type Page, type Browser } from "@playwright/test";
import * as path from "node:path";
import { Controller, RecordingDsp, demoOn, freePort } from "./controller";
import { checkAxe } from "./axe";

function shot(page: Page, name: string) {
  if (process.env.SCREENSHOT_DIR) return page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, name) });
}

async function newPage(browser: Browser, viewport: { width: number; height: number }) {
  return (await browser.newContext({ viewport })).newPage();
}

/** The demo's five devices, all on ports nobody answers (the DSP's until
 * the test starts one there). */
function fiveDevicesDown(unused: number, dsp: number): string {
  return demoOn({ projector: unused, matrix: unused, dsp, lights: unused, screen: unused })
    .replaceAll("reconnect_secs = 5", "reconnect_secs = 1");
}

type Box = { x: number; y: number; width: number; height: number };

/** Where the page's keys and its fader are. */
async function layout(page: Page): Promise<Box[]> {
  const targets = [
    page.locator(".page:not([hidden])"),
    page.locator('.page:not([hidden]) [data-button="display_power"]'),
    page.locator('.page:not([hidden]) [data-button="all_off"]'),
    page.locator('.page:not([hidden]) [data-level="volume"]'),
    page.locator('.page:not([hidden]) [data-level="volume"] [role="slider"]'),
  ];
  return Promise.all(targets.map(async (t) => (await t.boundingBox())!));
}

for (const [label, viewport] of [
  ["tablet", { width: 1024, height: 768 }],
  ["phone", { width: 390, height: 844 }],
] as const) {
  test(`five notices on a ${label}: over the page, one line with a count, dismissable, cleared when the device is back`, async ({ browser }) => {
    const [unused, dspPort] = [await freePort(), await freePort()];
    const controller = await Controller.create("", undefined, { project: fiveDevicesDown(unused, dspPort) });
    try {
      const page = await newPage(browser, viewport);
      await page.goto(controller.url("/"));
      await expect(page.locator(".link")).toHaveAttribute("data-link", "live");
      const notices = page.locator(".notices .notice");
      await expect(notices).toHaveCount(5);
      // In the room user's words, with what to do.
      await expect(page.locator('.notice[data-key="device:matrix"]')).toHaveText(
        /^The video switcher is not responding\. Check that it is switched on, or call for help\./,
      );
      // Collapsed: the newest on one line, and a count that opens them all.
      const count = page.locator(".notice-count");
      await expect(count).toHaveText("5 notices");
      await expect(page.locator(".notices .notice:visible")).toHaveCount(1);
      const one = (await page.locator(".notices .notice:visible").boundingBox())!;
      expect(one.height).toBeLessThan(60);
      const withNotices = await layout(page);
      await shot(page, `${label}-notices-${viewport.width}x${viewport.height}.png`);
      await checkAxe(page, `the ${label} panel with five notices`);

      await count.click();
      await expect(page.locator(".notices .notice:visible")).toHaveCount(5);
      await expect(count).toHaveAttribute("aria-expanded", "true");
      expect(await layout(page)).toEqual(withNotices);
      await shot(page, `${label}-notices-open-${viewport.width}x${viewport.height}.png`);
      await checkAxe(page, `the ${label} panel with five notices open`);

      // Dismiss one: it goes; the page does not move.
      await page.locator('.notice[data-key="device:screen"] .notice-close').click();
      await expect(notices).toHaveCount(4);
      await expect(page.locator('.notice[data-key="device:screen"]')).toHaveCount(0);

      // The DSP comes back: its notice clears by itself.
      const dsp = await RecordingDsp.start(dspPort);
      try {
        await expect(page.locator('.notice[data-key="device:dsp"]')).toHaveCount(0, { timeout: 20_000 });
        await expect(notices).toHaveCount(3);

        // Dismiss the rest: the keys and the fader are where they were.
        while ((await notices.count()) > 0) {
          await page.locator(".notices .notice:visible .notice-close").first().click();
        }
        await expect(page.locator(".notices")).toBeHidden();
        expect(await layout(page)).toEqual(withNotices);
      } finally {
        await dsp.stop();
      }
    } finally {
      await controller.dispose();
    }
  });
}
