import { test, expect, Page } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";
import { Controller, rawDemoProject } from "./controller";
import { checkAxe } from "./axe";

// Written by `cargo test -p designer --test validator_corpus` from the
// native validator (designer/tests/validator_corpus.rs).
const corpus: { name: string; toml: string; errors: unknown[] }[] = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, "..", "fixtures", "validator-corpus.json"), "utf8"),
);
const shots = process.env.DESIGNER_SHOTS; // a directory: the docs' screenshots are written there

async function shot(page: Page, name: string) {
  if (shots) await page.screenshot({ path: path.join(shots, `designer-${name}.png`) });
}

async function login(page: Page, controller: Controller) {
  await page.goto(controller.url("/designer"));
  // Not logged in: the login form, then back to the designer.
  await expect(page).toHaveURL(/\/login\?next=\/designer/);
  await page.getByLabel("User", { exact: true }).fill("admin");
  await page.getByLabel("Password", { exact: true }).fill("designer-secret");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/designer$/);
  await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
}

test("the designer's wasm validator says what the native one says", async ({ page }) => {
  const controller = await Controller.create("", (c) => c.addUser("admin", "admin", "designer-secret"));
  try {
    await login(page, controller);
    const wasm = await page.evaluate(
      (texts) => texts.map((t) => JSON.parse((window as any).designerCore.validate(t))),
      corpus.map((c) => c.toml),
    );
    expect(corpus.length).toBeGreaterThan(5);
    corpus.forEach((c, i) => expect(wasm[i], c.name).toEqual(c.errors));
  } finally {
    await controller.dispose();
  }
});

test("the designer: build a page, validate live, undo/redo, save, diff, apply, the panel shows it", async ({ page, context }) => {
  // The raw-device demo: its feedback rules are regular expressions, which
  // the feedback editor's tester is for (driver state needs none).
  const controller = await Controller.create("", (c) => c.addUser("admin", "admin", "designer-secret"), {
    project: rawDemoProject(),
  });
  try {
    await login(page, controller);
    await expect(page.locator(".opened")).toHaveText("Editing the running project");
    await expect(page.locator("#error-count")).toHaveText("No errors");
    await page.locator("#canvas .tile", { hasText: "HDMI 1" }).click();
    await expect(page.getByLabel("Label", { exact: true })).toHaveValue("HDMI 1");
    await shot(page, "layout");

    // The preview: the real panel in an iframe, over a preview controller.
    // The demo's sources interlock there, as a dry run; the running
    // controller (a tablet panel open beside it) is untouched.
    const tablet = await context.newPage();
    await tablet.goto(controller.url("/"));
    await expect(tablet.locator(".link")).toHaveAttribute("data-link", "live");
    await page.getByRole("button", { name: "Preview" }).click();
    const preview = page.locator("#preview");
    const frame = page.frameLocator("#preview-frame");
    await expect(page.locator("#preview-frame")).toHaveAttribute("src", /^\/designer\/preview\/[0-9a-f]+\/panel\/tablet$/);
    await expect(frame.locator(".link")).toHaveAttribute("data-link", "live");
    await frame.locator('[data-button="src_hdmi1"]').click();
    await expect(frame.locator('[data-button="src_hdmi1"]')).toHaveAttribute("aria-pressed", "true");
    await frame.locator('[data-button="src_hdmi2"]').click();
    await expect(frame.locator('[data-button="src_hdmi2"]')).toHaveAttribute("aria-pressed", "true");
    await expect(frame.locator('[data-button="src_hdmi1"]')).toHaveAttribute("aria-pressed", "false");
    await expect(frame.locator('[data-button="src_hdmi1"]')).toHaveAttribute("data-led", "off");
    await expect(tablet.locator('[data-button="src_hdmi1"]')).toHaveAttribute("aria-pressed", "false");
    await expect(tablet.locator('[data-button="src_hdmi2"]')).toHaveAttribute("aria-pressed", "false");
    const running = await (await page.request.get(controller.url("/admin/api/version/running"))).text();
    expect(running).toContain("src_hdmi1");
    await preview.scrollIntoViewIfNeeded();
    await shot(page, "preview");
    // An edit reaches the preview (debounced); the panel there reloads.
    await page.getByLabel("Label", { exact: true }).fill("HDMI One");
    await expect(frame.locator('[data-button="src_hdmi1"]')).toContainText("HDMI One");
    await expect(tablet.locator('[data-button="src_hdmi1"]')).toContainText("HDMI 1");
    await page.getByLabel("Label", { exact: true }).fill("HDMI 1");
    await expect(frame.locator('[data-button="src_hdmi1"]')).toContainText("HDMI 1");
    // Another page picked in the designer: the preview shows it, with its state.
    await page.getByRole("tab", { name: "Lights" }).click();
    await expect(frame.getByRole("tab", { name: "Lights" })).toHaveAttribute("aria-selected", "true");
    await page.getByRole("tab", { name: "Room" }).click();
    await expect(frame.getByRole("tab", { name: "Room" })).toHaveAttribute("aria-selected", "true");
    await expect(frame.locator('[data-button="src_hdmi2"]')).toHaveAttribute("aria-pressed", "true");
    // Sizes: the iframe has the screen's own size.
    await preview.getByRole("button", { name: "Phone" }).click();
    await expect(preview.getByRole("button", { name: "Phone" })).toHaveAttribute("aria-pressed", "true");
    await expect(page.locator("#preview-frame")).toHaveCSS("width", "390px");
    await preview.getByRole("button", { name: "Wall panel" }).click();
    await expect(page.locator("#preview-frame")).toHaveCSS("width", "1280px");
    await checkAxe(page, "/designer with the preview");
    // The preview page itself, opened on its own (same session).
    const previewPage = await context.newPage();
    await previewPage.goto(controller.url((await page.locator("#preview-frame").getAttribute("src"))!));
    await expect(previewPage.locator('[data-button="src_hdmi2"]')).toHaveAttribute("aria-pressed", "true");
    // No link out to the running controller's status page from a preview.
    await expect(previewPage.locator("footer.foot a")).not.toHaveCount(0);
    await expect(previewPage.getByRole("link", { name: "Status" })).toHaveCount(0);
    await checkAxe(previewPage, "the designer's preview page");
    await previewPage.close();
    await tablet.close();
    await page.getByRole("button", { name: "Close preview" }).click();
    await expect(preview).toBeHidden();

    // A new page with two buttons.
    await page.getByRole("button", { name: "Add page" }).click();
    await page.getByLabel("Page title").fill("Scenes");
    await expect(page.getByRole("tab", { name: "Scenes" })).toHaveAttribute("aria-selected", "true");
    await page.getByRole("button", { name: "New button", exact: true }).click();
    await page.getByRole("button", { name: "New button", exact: true }).click();
    const tiles = page.locator("#canvas .tile");
    await expect(tiles).toHaveCount(2);

    // Drag the first to row 1, column 2; the second moves by keyboard.
    await page.locator('[data-tile="buttons:0"]').dragTo(page.locator('[data-cell="1,2"]'));
    await expect(page.locator('[data-tile="buttons:0"]')).toHaveAttribute("aria-label", /row 1, column 2/);
    await page.locator('[data-tile="buttons:1"]').focus();
    await page.keyboard.press("ArrowLeft");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Shift+ArrowRight");
    await expect(page.locator('[data-tile="buttons:1"]')).toHaveAttribute("aria-label", /row 1, column 0/);
    // Resize the first by dragging its corner to the cell at row 2, column 3.
    const handle = await page.locator('[data-tile="buttons:0"] .resize').boundingBox();
    const target = await page.locator('[data-cell="2,3"]').boundingBox();
    await page.mouse.move(handle!.x + 5, handle!.y + 5);
    await page.mouse.down();
    await page.mouse.move(target!.x + target!.width / 2, target!.y + target!.height / 2, { steps: 5 });
    await page.mouse.up();
    await expect(page.getByLabel("Width")).toHaveValue("2");
    await expect(page.getByLabel("Height")).toHaveValue("2");
    await page.locator('[data-tile="buttons:1"]').click();
    await expect(page.getByLabel("Width")).toHaveValue("2");

    // Its label, and an invalid value: an interlock with no group.
    await page.getByLabel("Label", { exact: true }).fill("Blinds");
    await expect(page.locator('[data-tile="buttons:1"]')).toContainText("Blinds");
    await page.getByLabel("Kind").selectOption("interlock");
    await expect(page.locator("#error-count")).toHaveText("1 error");
    await expect(page.locator("#error-list")).toContainText("group");
    const invalid = page.locator(".props [aria-invalid=true]");
    await expect(invalid).toHaveCount(1);
    await shot(page, "error");
    await page.getByLabel("Group").fill("scenes");
    await expect(page.locator("#error-count")).toHaveText("No errors");

    // Undo brings the error back, redo fixes it again.
    await page.locator("body").click({ position: { x: 5, y: 5 } });
    await page.keyboard.press("Control+z");
    await expect(page.locator("#error-count")).toHaveText("1 error");
    await page.keyboard.press("Control+y");
    await expect(page.locator("#error-count")).toHaveText("No errors");

    // Every button's fields at once: unique ids, axe clean.
    await page.getByRole("button", { name: "Buttons" }).click();
    await expect(page.locator('[data-item^="buttons"]').first()).toBeVisible();
    await checkAxe(page, "/designer, buttons");

    // A sequence for the new button.
    await page.getByRole("button", { name: "Sequences" }).click();
    await page.getByRole("button", { name: "Add sequence" }).click();
    const last = page.locator('[data-item^="sequences"]').last();
    await last.getByLabel("Button", { exact: true }).first().selectOption("button2");
    await last.getByLabel("Step 1 action").selectOption("press");
    await expect(page.locator("#error-count")).toHaveText("No errors");
    await checkAxe(page, "/designer, sequences");

    // Save: the pending project, the diff against the running one.
    await page.getByRole("button", { name: "Save as pending" }).click();
    const output = page.locator("#output");
    await expect(output).toContainText("Saved as the pending project");
    await expect(output.locator(".changes")).toContainText('button "button2" added');
    await expect(output.locator(".unified .add")).toContainText(['label = "Blinds"']);
    // Comments are kept: no comment line is removed.
    for (const del of await output.locator(".unified .del").allTextContents()) expect(del).not.toMatch(/^-\s*#/);
    await shot(page, "diff");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect(output).toContainText("Now running");

    // The tablet panel shows the new page and label.
    const panel = await context.newPage();
    await panel.goto(controller.url("/"));
    await panel.getByRole("tab", { name: "Scenes" }).click();
    await expect(panel.locator('[data-button="button2"]')).toContainText("Blinds");

    // History: the applied project came from the designer; an earlier one opens.
    await page.reload();
    await expect(page.locator("body")).toHaveAttribute("data-ready", "true");
    await expect(page.locator("#canvas")).toBeVisible();
    const options = await page.locator("#open-which option").allTextContents();
    expect(options.some((o) => o.startsWith("History #"))).toBe(true);
    const history = await (await page.request.get(controller.url("/admin/api/history"), { headers: { Accept: "application/json" } })).json();
    expect(history[0].via).toBe("designer");
    await page.locator("#open-which").selectOption(String(history[0].id));
    await page.getByRole("button", { name: "Open", exact: true }).click();
    await expect(page.locator(".opened")).toHaveText(`Editing history #${history[0].id}`);
    await expect(page.locator("#open-which")).toHaveValue(String(history[0].id));

    // The feedback editor's regex tester shows the captures.
    await page.getByRole("button", { name: "Feedback" }).click();
    const sample = page.getByLabel("Test with a sample line").first();
    await sample.fill("VOL=-12.5");
    const captures = page.locator(".captures").first();
    await expect(captures).toContainText("$1");
    await expect(captures).toContainText('"-12.5"');
    await captures.scrollIntoViewIfNeeded();
    await shot(page, "feedback");
    await sample.fill("MUTE=1");
    await expect(page.locator(".regex-result").first()).toHaveText("No match.");

    // Timers: the next five runs in the timer's zone; a bad cron is named.
    await page.getByRole("button", { name: "Timers" }).click();
    await expect(page.locator(".next-runs li")).toHaveCount(5);
    await expect(page.locator(".next-runs li").first()).toContainText(/22:00:00 CE/);
    await page.getByLabel("Cron").fill("0 0 25 * * *");
    await expect(page.locator("#error-count")).toHaveText("1 error");
    await expect(page.locator(".next-runs .bad")).toBeVisible();
    await shot(page, "timers");
    await checkAxe(page, "/designer, timers with an error");

    // From nothing: a new project, one button on its first page, no errors.
    await page.locator("#open-which").selectOption("new");
    await page.getByRole("button", { name: "Open", exact: true }).click();
    await expect(page.locator(".opened")).toHaveText("Editing a new project");
    await page.getByRole("button", { name: "Layout" }).click();
    await page.getByRole("button", { name: "New button", exact: true }).click();
    await expect(page.locator("#canvas .tile")).toHaveCount(1);
    await expect(page.locator("#error-count")).toHaveText("No errors");
  } finally {
    await controller.dispose();
  }
});

test("the designer edits a button's conditions and the panel's summary bar", async ({ page }) => {
  const controller = await Controller.create("", (c) => c.addUser("admin", "admin", "designer-secret"));
  try {
    await login(page, controller);
    await page.locator("#canvas .tile", { hasText: "HDMI 1" }).click();
    const props = page.locator(".props");

    // Enabled only while the projector is on.
    const enabled = props.locator('.condition[data-path$=".enabled"]');
    await enabled.getByLabel("Enabled only while").selectOption("projector_state");
    await expect(enabled.getByLabel("Comparison")).toHaveValue("equals");
    await enabled.getByLabel("Value").fill("on");
    await expect(page.locator("#error-count")).toHaveText("No errors");

    // The LED lit while the projector is not off; a comparison with no value is an error.
    const led = props.locator('.condition[data-path$=".led_when"]');
    await led.getByLabel("LED lit while").selectOption("projector_state");
    await led.getByLabel("Comparison").selectOption("above");
    await led.getByLabel("Value").fill("");
    await expect(page.locator("#error-count")).toHaveText("1 error");
    await expect(page.locator("#error-list")).toContainText("exactly one of equals");
    await led.getByLabel("Comparison").selectOption("not_equals");
    await led.getByLabel("Value").fill("off");
    await expect(page.locator("#error-count")).toHaveText("No errors");
    await props.locator('.condition').first().scrollIntoViewIfNeeded();
    await shot(page, "conditions");
    await checkAxe(page, "/designer, button conditions");

    // The summary bar: the demo's two entries, one more, one removed.
    await page.locator(".panel-settings summary").click();
    await expect(page.getByRole("textbox", { name: "Summary 1", exact: true })).toHaveValue("Display: {projector_state}");
    await page.getByRole("button", { name: "Add summary entry" }).click();
    await page.getByRole("textbox", { name: "Summary 3", exact: true }).fill("Warm-up {warmup}");
    await page.getByRole("button", { name: "Remove summary 2" }).click();
    await expect(page.getByRole("textbox", { name: "Summary 2", exact: true })).toHaveValue("Warm-up {warmup}");
    await expect(page.getByRole("textbox", { name: "Summary 3", exact: true })).toHaveCount(0);
    await expect(page.locator("#error-count")).toHaveText("No errors");
    await shot(page, "summary");
    await checkAxe(page, "/designer, summary bar");

    // Saved into the file: the two conditions and the edited summary line.
    await page.getByRole("button", { name: "Save as pending" }).click();
    const output = page.locator("#output");
    await expect(output).toContainText("Saved as the pending project");
    const added = (await output.locator(".unified .add").allTextContents()).join("\n");
    // (edit_toml writes a new condition as a sub-table of its button.)
    expect(added).toMatch(/\[buttons\.enabled\]\W*variable = "projector_state"\W*equals = "on"/);
    expect(added).toMatch(/\[buttons\.led_when\]\W*variable = "projector_state"\W*not_equals = "off"/);
    expect(added).toContain('"Warm-up {warmup}"');
    const pending = await (await page.request.get(controller.url("/admin/api/project/pending"))).text();
    expect(pending).toContain("Warm-up {warmup}");
  } finally {
    await controller.dispose();
  }
});

test("a fresh installation opens the designer on a new project, the demo one click away, and saves number revisions", async ({ page }) => {
  const controller = await Controller.create("", (c) => c.addUser("admin", "admin", "designer-secret"), { fresh: true });
  try {
    await login(page, controller);
    // Nothing stored: the controller runs the demo, but the designer opens
    // a new, empty (and valid) project, not the demo's forty items.
    await expect(page.locator(".opened")).toHaveText("Editing a new project");
    await expect(page.locator("#error-count")).toHaveText("No errors");
    await expect(page.locator("#fresh-note")).toContainText("runs the built-in demo");
    await expect(page.locator("#canvas .tile")).toHaveCount(0);
    await checkAxe(page, "/designer on a fresh installation");

    // The demo, one click away; and back to a new project.
    await page.getByRole("button", { name: "Start from the demo" }).click();
    await expect(page.locator(".opened")).toHaveText("Editing the built-in demo");
    await expect(page.locator("#canvas .tile", { hasText: "HDMI 1" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Start from the demo" })).toHaveCount(0);
    await page.locator("#open-which").selectOption("new");
    await page.getByRole("button", { name: "Open", exact: true }).click();
    await expect(page.locator(".opened")).toHaveText("Editing a new project");

    // The first save lists nothing of the demo as removed.
    await page.getByRole("button", { name: "New button", exact: true }).click();
    await page.getByRole("button", { name: "Save as pending" }).click();
    const output = page.locator("#output");
    await expect(output).toContainText("Saved as the pending project");
    await expect(output).toContainText("first project of its own");
    await expect(output).not.toContainText("removed");
    const pending = async () => (await page.request.get(controller.url("/admin/api/version/pending"))).text();
    expect(await pending()).toMatch(/^revision = 1$/m);
    await page.getByRole("button", { name: "Apply" }).click();
    await expect(output).toContainText("Now running");
    await expect(page.locator("#fresh-note")).toHaveCount(0);

    // Each later save numbers its revision after the running one.
    await page.getByRole("button", { name: "New button", exact: true }).click();
    await page.getByRole("button", { name: "Save as pending" }).click();
    await expect(output.locator(".changes")).toContainText("revision 1 → 2");
    await expect(output.locator(".changes")).not.toContainText("removed");
    expect(await pending()).toMatch(/^revision = 2$/m);
    await page.getByRole("button", { name: "Apply" }).click();
    await expect(output).toContainText("Now running");
    const history = await (await page.request.get(controller.url("/admin/api/history"), { headers: { Accept: "application/json" } })).json();
    expect(history.map((e: { revision: number }) => e.revision)).toEqual([2, 1]);
    await checkAxe(page, "/designer after the first projects");
  } finally {
    await controller.dispose();
  }
});
