import { test, expect } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";
import { Controller } from "./controller";
import { checkAxe } from "./axe";

const demo = fs.readFileSync(path.resolve(__dirname, "..", "..", "controller-core", "projects", "demo.toml"), "utf8");
const named = (name: string) => demo.replace(/^name = ".*"$/m, `name = "${name}"`);

test("the admin page: login, upload with progress, apply, history diff and restore", async ({ page }) => {
  const controller = await Controller.create("", (c) => c.addUser("admin", "admin", "admin-page-secret"));
  try {
    await page.goto(controller.url("/admin"));
    // Not logged in: only the login form is offered.
    await expect(page.locator("body")).toHaveAttribute("data-admin", "out");
    await expect(page.getByRole("heading", { name: "Upload a project" })).toBeHidden();
    await page.getByLabel("User", { exact: true }).fill("admin");
    await page.getByLabel("Password", { exact: true }).fill("admin-page-secret");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page).toHaveURL(/\/admin$/);
    await expect(page.locator("#admin-user")).toHaveText("admin");
    await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();

    // A bad project: the errors show in the page, with line and field.
    const upload = async (name: string, text: string) => {
      await page.getByLabel("Project file").setInputFiles({ name, mimeType: "text/plain", buffer: Buffer.from(text) });
      await page.getByRole("button", { name: "Upload", exact: true }).click();
    };
    await upload("bad.toml", named("Bad").replace('kind = "toggle"', 'kind = "toggel"'));
    const result = page.locator("#admin-result");
    await expect(result).toHaveClass(/error/);
    await expect(result).toContainText("Upload refused");
    await expect(result).toContainText("toggel");
    await expect(result).not.toContainText("server function");

    for (const name of ["First room", "Second room"]) {
      await upload(`${name}.toml`, named(name));
      await expect(result).toContainText("Uploaded");
      await expect(page.locator("#upload-progress")).toBeHidden();
      await page.getByRole("button", { name: "Apply the uploaded project" }).click();
      await expect(result).toContainText(`Now running "${name}"`);
    }

    // History: newest first, with who and how; compare the two.
    const rows = page.locator("#history-rows tr[data-id]");
    await expect(rows).toHaveCount(2);
    await expect(rows.first()).toContainText('"Second room"');
    await expect(rows.first()).toContainText("apply via web");
    await expect(rows.first()).toContainText("admin");
    await page.getByRole("button", { name: "Compare" }).click();
    await expect(page.locator("#diff")).toContainText('project renamed from "First room" to "Second room"');
    await expect(page.locator("#diff .del")).toContainText('name = "First room"');
    await expect(page.locator("#diff .add")).toContainText('name = "Second room"');

    // Restore the first: it becomes the uploaded project, nothing runs yet.
    await page.getByRole("button", { name: "Restore #1" }).click();
    await expect(result).toContainText('"First room"');
    await expect(result).toContainText("is now the uploaded project");
    await page.getByRole("button", { name: "Apply the uploaded project" }).click();
    await expect(result).toContainText('Now running "First room"');
    await expect(rows).toHaveCount(3);

    // Zoom is allowed here.
    const viewport = await page.locator('meta[name="viewport"]').getAttribute("content");
    expect(viewport).not.toContain("user-scalable=no");

    await page.getByRole("button", { name: "Log out" }).click();
    await page.goto(controller.url("/admin"));
    await expect(page.locator("body")).toHaveAttribute("data-admin", "out");
  } finally {
    await controller.dispose();
  }
});

test("the admin page: add a user, change their role, reset their password, remove them; axe clean", async ({ page }) => {
  const controller = await Controller.create("", (c) => c.addUser("admin", "admin", "admin-page-secret"));
  try {
    await page.goto(controller.url("/admin"));
    await page.getByLabel("User", { exact: true }).fill("admin");
    await page.getByLabel("Password", { exact: true }).fill("admin-page-secret");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.locator("#admin-user")).toHaveText("admin");
    const rows = page.locator("#user-rows tr");
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText("admin (you)");
    const result = page.locator("#admin-result");

    // Too short a password: refused in the page, nobody added.
    const add = page.locator("#user-add");
    await add.getByLabel("Name").fill("frontdesk");
    await add.getByLabel("Role").selectOption("operator");
    await add.getByLabel("Their password").fill("short");
    // The browser's own check stops it first; the server's words when it
    // is bypassed (as a script would).
    await add.evaluate((f: HTMLFormElement) => (f.noValidate = true));
    await add.getByRole("button", { name: "Add user" }).click();
    await expect(result).toHaveClass(/error/);
    await expect(result).toContainText("at least 8 characters");
    await expect(rows).toHaveCount(1);

    await add.getByLabel("Their password").fill("front-desk-secret");
    await add.getByRole("button", { name: "Add user" }).click();
    await expect(result).toContainText("frontdesk (operator) can log in now");
    await expect(rows).toHaveCount(2);
    const row = page.locator('#user-rows tr[data-user="frontdesk"]');
    await expect(page.getByLabel("Role of frontdesk", { exact: true })).toHaveValue("operator");
    await checkAxe(page, "admin page with users");

    await page.getByLabel("Role of frontdesk", { exact: true }).selectOption("viewer");
    await row.getByRole("button", { name: "Save role of frontdesk" }).click();
    await expect(result).toContainText("frontdesk is now viewer");
    await page.getByLabel("New password for frontdesk").fill("front-desk-secret-2");
    await row.getByRole("button", { name: "Reset password of frontdesk" }).click();
    await expect(result).toContainText("logs in with the new password");

    // The only admin cannot be removed.
    page.on("dialog", (d) => d.accept());
    await page.getByRole("button", { name: "Remove admin" }).click();
    await expect(result).toContainText("only admin");
    await expect(rows).toHaveCount(2);

    await row.getByRole("button", { name: "Remove frontdesk" }).click();
    await expect(result).toContainText("frontdesk can no longer log in");
    await expect(rows).toHaveCount(1);
    const users = await page.request.get(controller.url("/admin/api/users"), { headers: { Accept: "application/json" } });
    expect((await users.json()).map((u: { name: string }) => u.name)).toEqual(["admin"]);
    await checkAxe(page, "admin page after removing a user");
  } finally {
    await controller.dispose();
  }
});
