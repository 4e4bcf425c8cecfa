// Renders public/icon.svg into the PNG icons the web-app manifest and iOS
// use: icon-192.png, icon-512.png (as drawn), icon-maskable-512.png (the
// drawing inside the central 80% "safe zone" on a full-bleed background, so
// a launcher may cut it to any shape) and apple-touch-icon.png (180 px,
// opaque). Uses the Chromium the end-to-end tests use; run from the repo
// root after changing the SVG: node scripts/make-icons.js
const path = require("node:path");
const fs = require("node:fs");
const { chromium } = require(path.resolve(__dirname, "..", "end2end", "node_modules", "playwright"));

const pub = path.resolve(__dirname, "..", "public");
const svg = fs.readFileSync(path.join(pub, "icon.svg"), "utf8");
const uri = "data:image/svg+xml;base64," + Buffer.from(svg).toString("base64");
const icons = [
  ["icon-192.png", 192, 0, "transparent"],
  ["icon-512.png", 512, 0, "transparent"],
  ["icon-maskable-512.png", 512, 0.1, "#101418"],
  ["apple-touch-icon.png", 180, 0.06, "#101418"],
];

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
  for (const [file, size, pad, bg] of icons) {
    const page = await browser.newPage({ viewport: { width: size, height: size } });
    const inset = Math.round(size * pad);
    await page.setContent(
      `<html><body style="margin:0;background:${bg}"><img src="${uri}" style="position:absolute;left:${inset}px;top:${inset}px;width:${size - 2 * inset}px;height:${size - 2 * inset}px"></body></html>`,
    );
    await page.screenshot({ path: path.join(pub, file), omitBackground: bg === "transparent" });
    await page.close();
  }
  await browser.close();
})();
