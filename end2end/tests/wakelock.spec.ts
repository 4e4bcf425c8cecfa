// The wall panel keeps its screen on (public/kiosk.js, Screen Wake Lock
// API): tested with a fake `navigator.wakeLock` that records each request
// and whose locks the test can release, and with the page's visibility under
// the test's control; and a browser without the API shows no error.
import { test, expect, type Page, type Browser } from "@playwright/test";
import { Controller } from "./controller";

/** Installed before any page script: a fake wake lock (refusing requests
 * while `refuse`) and visibility. */
function fakeWakeLock(options: { refuse: boolean }) {
  type Sentinel = EventTarget & { released: boolean; type: string; release(): Promise<void> };
  const record = { requests: 0, refuse: options.refuse, locks: [] as Sentinel[] };
  (window as unknown as { __wakeLock: typeof record }).__wakeLock = record;
  class FakeSentinel extends EventTarget {
    released = false;
    type = "screen";
    onrelease: ((e: Event) => void) | null = null;
    async release() {
      if (this.released) return;
      this.released = true;
      const e = new Event("release");
      this.dispatchEvent(e);
      this.onrelease?.(e);
    }
  }
  Object.defineProperty(navigator, "wakeLock", {
    configurable: true,
    value: {
      request: async (type: string) => {
        record.requests++;
        // Granted a moment later, as a browser does.
        await new Promise((r) => setTimeout(r, 10));
        if (record.refuse) throw new DOMException("not now", "NotAllowedError");
        const lock = new FakeSentinel();
        lock.type = type;
        record.locks.push(lock);
        return lock;
      },
    },
  });
  let visibility: DocumentVisibilityState = "visible";
  Object.defineProperty(Document.prototype, "visibilityState", { configurable: true, get: () => visibility });
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => visibility !== "visible" });
  (window as unknown as { __setVisibility: (v: DocumentVisibilityState) => void }).__setVisibility = (v) => {
    visibility = v;
    document.dispatchEvent(new Event("visibilitychange"));
  };
}

type Record = { requests: number; refuse: boolean; locks: { released: boolean }[] };

function requests(page: Page) {
  return page.evaluate(() => (window as unknown as { __wakeLock: Record }).__wakeLock.requests);
}

function wakeLock(page: Page) {
  return expect(page.locator("html"));
}

async function setVisibility(page: Page, v: "visible" | "hidden") {
  await page.evaluate((v) => (window as unknown as { __setVisibility: (v: string) => void }).__setVisibility(v), v);
}

/** Releases the newest lock, as the browser does when the page hides. */
async function releaseLock(page: Page) {
  await page.evaluate(async () => {
    const locks = (window as unknown as { __wakeLock: { locks: { release(): Promise<void> }[] } }).__wakeLock.locks;
    await locks[locks.length - 1].release();
  });
}

/** A touch on the page (its top-left corner). */
function touch(page: Page) {
  return page.mouse.click(1, 1);
}

async function wallPanel(browser: Browser, controller: Controller, refuse = false) {
  const page = await (await browser.newContext()).newPage();
  await page.addInitScript(fakeWakeLock, { refuse });
  await page.goto(controller.wallUrl("/"));
  await expect(page.locator(".link")).toHaveAttribute("data-link", "live");
  return page;
}

test("a wall panel asks for a wake lock, and again when it shows after the lock was released", async ({ browser }) => {
  const controller = await Controller.create();
  try {
    const page = await wallPanel(browser, controller);
    await expect.poll(() => requests(page)).toBe(1);
    await wakeLock(page).toHaveAttribute("data-wake-lock", "held");

    // Hidden: the browser releases the lock; nothing is asked while hidden.
    await setVisibility(page, "hidden");
    await releaseLock(page);
    await wakeLock(page).toHaveAttribute("data-wake-lock", "released");
    expect(await requests(page)).toBe(1);

    // Visible again: asked again, once, even if the page says so twice.
    await page.evaluate(() => {
      const w = window as unknown as { __setVisibility: (v: string) => void };
      w.__setVisibility("visible");
      document.dispatchEvent(new Event("visibilitychange"));
    });
    await expect.poll(() => requests(page)).toBe(2);
    await wakeLock(page).toHaveAttribute("data-wake-lock", "held");
    // A touch while the lock is held asks for nothing.
    await touch(page);
    await page.waitForTimeout(100);
    expect(await requests(page)).toBe(2);

    // Released while shown (the system's battery saver): the next touch asks again.
    await releaseLock(page);
    await wakeLock(page).toHaveAttribute("data-wake-lock", "released");
    await touch(page);
    await expect.poll(() => requests(page)).toBe(3);
    await wakeLock(page).toHaveAttribute("data-wake-lock", "held");
  } finally {
    await controller.dispose();
  }
});

test("a refused wake lock is asked for again at the next touch", async ({ browser }) => {
  const controller = await Controller.create();
  try {
    // Refused (as a browser does before the first user gesture).
    const page = await wallPanel(browser, controller, true);
    await expect.poll(() => requests(page)).toBe(1);
    await wakeLock(page).toHaveAttribute("data-wake-lock", "refused");
    await page.evaluate(() => {
      (window as unknown as { __wakeLock: { refuse: boolean } }).__wakeLock.refuse = false;
    });
    await touch(page);
    await expect.poll(() => requests(page)).toBe(2);
    await wakeLock(page).toHaveAttribute("data-wake-lock", "held");
  } finally {
    await controller.dispose();
  }
});

test("a browser without the Wake Lock API shows the wall panel without an error", async ({ browser }) => {
  const controller = await Controller.create();
  try {
    const page = await (await browser.newContext()).newPage();
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    await page.addInitScript(() => {
      delete (Navigator.prototype as unknown as { wakeLock?: unknown }).wakeLock;
    });
    await page.goto(controller.wallUrl("/"));
    await expect(page.locator(".link")).toHaveAttribute("data-link", "live");
    expect(await page.evaluate(() => "wakeLock" in navigator)).toBe(false);
    await touch(page);
    await page.waitForTimeout(200);
    await expect(page.locator("html")).not.toHaveAttribute("data-wake-lock", /.*/);
    expect(errors).toEqual([]);
  } finally {
    await controller.dispose();
  }
});
