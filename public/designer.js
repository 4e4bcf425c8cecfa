// The Project Designer's page (/designer, server/src/services/http/designer.rs).
// Plain JavaScript over pkg/designer.{js,wasm}: controller-core compiled to
// wasm (designer/src/lib.rs) validates every change exactly as an upload is
// validated, writes the edit back into the installer's own TOML (comments
// and order kept), tests regexes and computes timer runs; the preview is the
// real panel in an iframe, over a preview controller on the server. Loaded
// by /designer only: a panel never downloads it.
//
// The model is the project as JSON (serde's form of controller-core's
// Project). Every change goes through edit(): a snapshot for undo, the
// change, a re-render, and a validation whose errors are attached to the
// controls by their field path (data-path="buttons[3].label").
import init, * as core from "/pkg/designer.js";

const S = {
  original: "", // the text the model was opened from (comments to keep)
  opened: "", // what was opened: "running", "pending", "#3"
  project: null,
  undo: [],
  redo: [],
  lastKey: null, // coalesces typing in one field into one undo step
  errors: [],
  toml: "",
  section: "layout",
  panel: 0,
  page: 0,
  sel: null, // { kind: "buttons" | "levels" | "texts", index } on the current page
  samples: {}, // regex tester lines, by feedback rule index
  saved: false,
  output: null, // the last save/apply answer, diff
  previewSize: null, // "tablet", "wall", "phone" while the preview is open
  previewEl: null, // its section, made once (see previewSection)
  previewBase: null, // "/designer/preview/{token}" of this page's preview
  previewPosted: null, // the draft text the preview runs
  previewSrc: null, // the panel page the iframe shows
  previewShown: null, // that page and the designer's page it was opened on
  previewTimer: null,
  previewBusy: false, // a post is under way
  previewAgain: false, // and another was asked for meanwhile
  history: [],
  fresh: false, // a fresh installation: nothing stored, the built-in demo runs
  runningRevision: 0, // the running project's revision (a save numbers after it)
  work: null, // the part of the page render() redraws (all but the preview)
};

const SECTIONS = [
  ["layout", "Layout"],
  ["buttons", "Buttons"],
  ["levels", "Levels"],
  ["devices", "Devices"],
  ["sequences", "Sequences"],
  ["feedback", "Feedback"],
  ["timers", "Timers"],
  ["project", "Project"],
];
const COLORS = ["red", "green", "blue", "amber", "yellow", "white", "cyan", "magenta"];
const LED_MODES = ["off", "on", "slow_blink", "fast_blink"];
const SIZES = { tablet: [1024, 768, "Tablet"], wall: [1280, 800, "Wall panel"], phone: [390, 844, "Phone"] };
let ICONS = [];

// ---------- small DOM helpers ----------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "style") el.setAttribute("style", v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svgIcon(name, cls) {
  const found = ICONS.find((i) => i.name === name);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", cls || "icon");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", found ? found.path : "M5 5h14v14H5z");
  svg.append(path);
  return svg;
}

const $ = (id) => document.getElementById(id);

// ---------- the model and its changes ----------

const P = () => S.project;
const panel = () => (P().panels || [])[S.panel];
const page = () => (panel() ? panel().pages[S.page] : undefined);

function snapshot() {
  return JSON.stringify({ project: S.project, panel: S.panel, page: S.page, sel: S.sel });
}

function restore(text) {
  const s = JSON.parse(text);
  S.project = s.project;
  S.panel = s.panel;
  S.page = s.page;
  S.sel = s.sel;
}

// One change: `key` (a field path) coalesces keystrokes in one field.
function edit(change, key) {
  if (!key || key !== S.lastKey) {
    S.undo.push(snapshot());
    if (S.undo.length > 200) S.undo.shift();
  }
  S.lastKey = key || null;
  S.redo = [];
  change(S.project);
  S.saved = false;
  changed();
}

function undo() {
  if (!S.undo.length) return;
  S.redo.push(snapshot());
  restore(S.undo.pop());
  S.lastKey = null;
  changed();
}

function redo() {
  if (!S.redo.length) return;
  S.undo.push(snapshot());
  restore(S.redo.pop());
  S.lastKey = null;
  changed();
}

function changed() {
  validate();
  render();
}

function validate() {
  const r = JSON.parse(core.check(S.original, JSON.stringify(S.project)));
  S.errors = r.errors || [];
  S.toml = r.toml || "";
}

// ---------- value helpers ----------

function opt(v) {
  return v === "" || v === undefined ? null : v;
}

function num(v) {
  if (v === "" || v === null || v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : v; // a non-number is left for the validator to name
}

function ids(list) {
  return (list || []).map((x) => x.id);
}

function uniqueId(prefix, taken) {
  for (let i = 1; ; i++) if (!taken.includes(prefix + i)) return prefix + i;
}

function allIds() {
  return [...ids(P().buttons), ...ids(P().levels), ...ids(P().variables)];
}

// A button renamed: every reference follows.
function renameButton(p, from, to) {
  for (const pl of p.panels || []) for (const pg of pl.pages) for (const b of pg.buttons || []) if (b.button === from) b.button = to;
  for (const s of p.sequences || []) {
    if (s.button === from) s.button = to;
    for (const st of s.steps) {
      if (st.press === from) st.press = to;
      if (st.button === from) st.button = to;
    }
  }
  for (const f of p.feedback || []) {
    if (f.press === from) f.press = to;
    if (f.button === from) f.button = to;
  }
  for (const t of p.timers || []) if (t.press === from) t.press = to;
  for (const d of p.devices || []) if (d.status_led === from) d.status_led = to;
}

// ---------- form fields bound to the model ----------

// A labelled input for obj[key]; `path` names it for error messages.
function field(label, obj, key, path, o = {}) {
  const id = "f-" + path.replace(/[^a-zA-Z0-9]/g, "-");
  let input;
  const value = obj[key];
  const set = (v) => {
    if (v === null || v === undefined) delete obj[key];
    else obj[key] = v;
  };
  if (o.options) {
    input = h("select", { id, "data-path": path },
      (o.optional ? [h("option", { value: "", text: o.none || "(none)" })] : []),
      o.options.map((x) => {
        const [v, t] = Array.isArray(x) ? x : [x, x];
        return h("option", { value: v, text: t, selected: String(value ?? o.default ?? "") === String(v) });
      }));
    input.addEventListener("change", () => {
      if (o.ui) {
        o.onSet(input.value);
        render();
        return;
      }
      edit(() => {
        const v = o.convert ? o.convert(input.value) : input.value;
        if (o.onSet) o.onSet(v);
        else set(o.optional ? opt(v) : v);
      }, path);
    });
  } else if (o.type === "checkbox") {
    input = h("input", { id, type: "checkbox", "data-path": path, checked: !!value });
    input.addEventListener("change", () => edit(() => (o.onSet ? o.onSet(input.checked) : set(input.checked || (o.optional ? null : false))), path));
  } else {
    input = h("input", {
      id,
      "data-path": path,
      type: o.type === "number" ? "text" : "text",
      inputmode: o.type === "number" ? "decimal" : undefined,
      value: value ?? "",
      placeholder: o.placeholder,
      list: o.list,
      spellcheck: "false",
      autocomplete: "off",
    });
    input.addEventListener("input", () =>
      edit(() => {
        let v = input.value;
        if (o.type === "number") v = num(v);
        else if (o.convert) v = o.convert(v);
        if (o.onSet) o.onSet(v);
        else set(o.optional ? opt(v) : v ?? "");
      }, path));
  }
  const wrap = h("div", { class: "field" }, h("label", { for: id, text: label }), input, o.hint ? h("small", { text: o.hint }) : null);
  return wrap;
}

function section(title, ...children) {
  return h("section", { class: "card" }, h("h3", { text: title }), ...children);
}

function row(...children) {
  return h("div", { class: "row" }, ...children);
}

function smallButton(text, onclick, extra = {}) {
  return h("button", { type: "button", class: "small", onclick, ...extra }, text);
}

// ---------- the page ----------

function render() {
  S.rendering = true;
  try {
    renderNow();
  } finally {
    S.rendering = false;
  }
}

function renderNow() {
  const active = document.activeElement;
  const focusPath = active && active.dataset ? active.dataset.path || active.dataset.focus : null;
  const caret = active && typeof active.selectionStart === "number" ? [active.selectionStart, active.selectionEnd] : null;

  const main = $("designer-main");
  if (!S.work) {
    S.work = h("div", { id: "designer-work" });
    main.replaceChildren(S.work, previewSection());
  }
  S.work.replaceChildren(toolbar(), freshNote(), h("div", { class: "designer-grid" + (S.section === "layout" ? "" : " no-props") }, nav(), workspace(), S.section === "layout" ? props() : null), errorsPanel(), outputPanel());
  markErrors();
  syncPreview();

  if (focusPath) {
    const el = main.querySelector(`[data-path="${CSS.escape(focusPath)}"], [data-focus="${CSS.escape(focusPath)}"]`);
    if (el) {
      el.focus();
      if (caret && typeof el.setSelectionRange === "function") {
        try {
          el.setSelectionRange(caret[0], caret[1]);
        } catch (e) {
          /* not a text input */
        }
      }
    }
  }
}

// A fresh installation (nothing stored: the controller runs the built-in
// demo) opens on a new project; the demo is one click away.
function freshNote() {
  if (!S.fresh) return null;
  return h("section", { id: "fresh-note", class: "fresh-note", "aria-label": "A new installation" },
    h("p", { text: "This controller has no project of its own yet: it runs the built-in demo until you apply one. " + (S.which === "demo" ? "You are editing a copy of the demo." : "You are editing a new, empty project.") }),
    S.which === "demo" ? null : h("button", { type: "button", id: "start-from-demo", onclick: () => openVersion("demo") }, "Start from the demo"));
}

function toolbar() {
  const which = h("select", { id: "open-which", "aria-label": "Project to open" },
    h("option", { value: "running", text: "The running project", selected: S.which === "running" }),
    h("option", { value: "pending", text: "The uploaded (pending) project", selected: S.which === "pending" }),
    h("option", { value: "new", text: "A new, empty project", selected: S.which === "new" }),
    h("option", { value: "demo", text: "The built-in demo", selected: S.which === "demo" }),
    S.history.map((e) => h("option", { value: String(e.id), text: `History #${e.id}: "${e.name}" revision ${e.revision}`, selected: S.which === String(e.id) })));
  const n = S.errors.length;
  return h("div", { class: "toolbar", role: "toolbar", "aria-label": "Designer" },
    h("div", { class: "group" }, which, h("button", { type: "button", onclick: () => openVersion(which.value) }, "Open")),
    h("span", { class: "opened", text: S.opened ? "Editing " + S.opened : "" }),
    h("div", { class: "group" },
      h("button", { type: "button", id: "undo", onclick: undo, disabled: !S.undo.length, title: "Ctrl+Z" }, "Undo"),
      h("button", { type: "button", id: "redo", onclick: redo, disabled: !S.redo.length, title: "Ctrl+Y" }, "Redo")),
    h("span", { id: "error-count", class: n ? "bad" : "good", role: "status", "aria-live": "polite", text: n ? `${n} error${n === 1 ? "" : "s"}` : "No errors" }),
    h("div", { class: "group" },
      h("button", { type: "button", onclick: () => showPreview(S.previewSize ? null : "tablet") }, S.previewSize ? "Close preview" : "Preview"),
      h("button", { type: "button", id: "save", class: "primary", onclick: save, disabled: n > 0 }, "Save as pending"),
      h("button", { type: "button", id: "apply", onclick: apply, disabled: !S.saved }, "Apply")));
}

function nav() {
  return h("nav", { class: "sections", "aria-label": "Project parts" },
    SECTIONS.map(([id, name]) => {
      const count = S.errors.filter((e) => sectionOf(e.path) === id).length;
      return h("button", {
        type: "button",
        "aria-current": S.section === id ? "page" : undefined,
        onclick: () => {
          S.section = id;
          render();
        },
      }, name, count ? h("span", { class: "badge", text: String(count), "aria-label": `${count} errors` }) : null);
    }));
}

function sectionOf(path) {
  const top = (path || "").split(/[.[]/)[0];
  if (top === "panels") return "layout";
  if (top === "variables") return "project";
  return SECTIONS.some(([id]) => id === top) ? top : "project";
}

function workspace() {
  const w = h("div", { class: "workspace" });
  switch (S.section) {
    case "layout": w.append(layoutEditor()); break;
    case "buttons": w.append(listEditor("buttons", "Buttons", buttonEditor, newButton)); break;
    case "levels": w.append(listEditor("levels", "Levels", levelEditor, newLevel)); break;
    case "devices": w.append(listEditor("devices", "Devices", deviceEditor, newDevice)); break;
    case "sequences": w.append(listEditor("sequences", "Sequences", sequenceEditor, newSequence)); break;
    case "feedback": w.append(listEditor("feedback", "Feedback rules", feedbackEditor, newFeedback)); break;
    case "timers": w.append(listEditor("timers", "Timers", timerEditor, newTimer)); break;
    default: w.append(projectEditor());
  }
  return w;
}

// ---------- layout: panels, pages, the grid ----------

function layoutEditor() {
  const p = P();
  const out = h("div", { class: "layout" });
  if (!p.panels || !p.panels.length) {
    out.append(h("p", { text: "This project has no panel yet." }), smallButton("Add a panel", addPanel));
    return out;
  }
  const pl = panel();
  out.append(h("div", { class: "row panel-pick" },
    field("Panel", S, "panel", "ui.panel", { options: p.panels.map((x, i) => [String(i), `${x.name} (${x.id})`]), ui: true, onSet: (v) => { S.panel = Number(v); S.page = 0; S.sel = null; } }),
    smallButton("Add panel", addPanel)));
  const pi = S.panel;
  // Stays open across re-renders (every edit re-renders the page).
  out.append(h("details", { class: "panel-settings", open: !!S.settingsOpen, ontoggle: (ev) => { S.settingsOpen = ev.target.open; } }, h("summary", { text: "Panel settings" }),
    row(
      field("Id", pl, "id", `panels[${pi}].id`),
      field("Name", pl, "name", `panels[${pi}].name`),
      field("Profile", pl, "profile", `panels[${pi}].profile`, { options: ["tablet", "wall"], default: "tablet" }),
    ),
    row(
      field("Columns", pl, "columns", `panels[${pi}].columns`, { type: "number" }),
      field("Rows", pl, "rows", `panels[${pi}].rows`, { type: "number" }),
      field("PIN", pl, "pin", `panels[${pi}].pin`, { optional: true, hint: "4–12 digits; none: no PIN" }),
      field("Idle seconds", pl, "idle_secs", `panels[${pi}].idle_secs`, { type: "number", optional: true, hint: "back to the first page" }),
    ),
    summaryEditor(pl, pi),
    smallButton("Remove this panel", () => edit((p) => { p.panels.splice(pi, 1); S.panel = 0; S.page = 0; S.sel = null; }))));

  // Pages: tabs, then the current page's title and order.
  const tabs = h("div", { class: "page-tabs", role: "tablist", "aria-label": "Pages" },
    pl.pages.map((pg, i) => h("button", {
      type: "button", role: "tab", "aria-selected": String(i === S.page), "data-path": `panels[${pi}].pages[${i}]`,
      onclick: () => { S.page = i; S.sel = null; render(); },
    }, pg.title || pg.id)));
  out.append(h("div", { class: "row page-row" }, tabs, smallButton("Add page", addPage, { id: "add-page" })));
  const pg = page();
  if (!pg) return out;
  const gi = S.page;
  out.append(row(
    field("Page title", pg, "title", `panels[${pi}].pages[${gi}].title`),
    field("Page id", pg, "id", `panels[${pi}].pages[${gi}].id`),
    field("Page icon", pg, "icon", `panels[${pi}].pages[${gi}].icon`, { options: ICONS.map((i) => i.name), optional: true }),
    h("div", { class: "field actions" },
      smallButton("Move left", () => movePage(-1), { disabled: gi === 0 }),
      smallButton("Move right", () => movePage(1), { disabled: gi === pl.pages.length - 1 }),
      smallButton("Remove page", () => edit((p) => { p.panels[pi].pages.splice(gi, 1); S.page = Math.max(0, gi - 1); S.sel = null; }), { disabled: pl.pages.length <= 1 }))));

  // The palette.
  const existing = h("select", { id: "place-existing", "aria-label": "Button to place" }, (p.buttons || []).map((b) => h("option", { value: b.id, text: `${b.label} (${b.id})` })));
  const levelPick = h("select", { id: "place-level", "aria-label": "Level to place" }, (p.levels || []).map((l) => h("option", { value: l.id, text: `${l.label} (${l.id})` })));
  out.append(h("div", { class: "palette", "aria-label": "Add to this page" },
    h("button", { type: "button", id: "new-button", onclick: () => placeNew() }, "New button"),
    existing, smallButton("Place button", () => existing.value && place("buttons", { button: existing.value })),
    (p.levels || []).length ? [levelPick, smallButton("Place level", () => levelPick.value && place("levels", { level: levelPick.value }))] : null,
    smallButton("Add text tile", () => place("texts", { text: "Text" }))));
  out.append(canvas(pl, pg));
  out.append(h("p", { class: "hint", text: "Drag a tile to move it, or select it and use the arrow keys (Shift+arrows resize, Delete removes it from the page). Drag the corner to resize." }));
  return out;
}

function addPanel() {
  edit((p) => {
    p.panels = p.panels || [];
    const id = uniqueId("panel", ids(p.panels));
    p.panels.push({ id, name: "New panel", profile: "tablet", columns: 4, rows: 3, pages: [{ id: "main", title: "Main", buttons: [] }] });
    S.panel = p.panels.length - 1;
    S.page = 0;
    S.sel = null;
  });
}

function addPage() {
  edit((p) => {
    const pl = p.panels[S.panel];
    const id = uniqueId("page", ids(pl.pages));
    pl.pages.push({ id, title: "New page", buttons: [] });
    S.page = pl.pages.length - 1;
    S.sel = null;
  });
}

function movePage(d) {
  edit((p) => {
    const pages = p.panels[S.panel].pages;
    const [pg] = pages.splice(S.page, 1);
    S.page += d;
    pages.splice(S.page, 0, pg);
  });
}

// Every place on the page as { kind, index, place }.
function places(pg) {
  const out = [];
  for (const kind of ["buttons", "levels", "texts"]) (pg[kind] || []).forEach((place, index) => out.push({ kind, index, place }));
  return out;
}

function occupied(pg, except) {
  const taken = new Set();
  for (const { kind, index, place } of places(pg)) {
    if (except && except.kind === kind && except.index === index) continue;
    for (let r = 0; r < (place.height || 1); r++) for (let c = 0; c < (place.width || 1); c++) taken.add(`${place.row + r},${place.col + c}`);
  }
  return taken;
}

function freeCell(pl, pg) {
  const taken = occupied(pg);
  for (let r = 0; r < pl.rows; r++) for (let c = 0; c < pl.columns; c++) if (!taken.has(`${r},${c}`)) return [r, c];
  return [0, 0];
}

function place(kind, what) {
  edit((p) => {
    const pl = p.panels[S.panel];
    const pg = pl.pages[S.page];
    const [r, c] = freeCell(pl, pg);
    pg[kind] = pg[kind] || [];
    pg[kind].push({ ...what, row: r, col: c, width: 1, height: 1 });
    S.sel = { kind, index: pg[kind].length - 1 };
  });
}

function newButton(p) {
  const id = uniqueId("button", allIds());
  p.buttons = p.buttons || [];
  p.buttons.push({ id, label: "New button", kind: "momentary", color: "green", led: "state" });
  return id;
}

function placeNew() {
  edit((p) => {
    const id = newButton(p);
    const pl = p.panels[S.panel];
    const pg = pl.pages[S.page];
    const [r, c] = freeCell(pl, pg);
    pg.buttons = pg.buttons || [];
    pg.buttons.push({ button: id, row: r, col: c, width: 1, height: 1 });
    S.sel = { kind: "buttons", index: pg.buttons.length - 1 };
  });
}

function tileLabel(kind, place) {
  const p = P();
  if (kind === "buttons") {
    const b = (p.buttons || []).find((x) => x.id === place.button);
    return b ? [b.label, b.icon] : [`(no button ${place.button})`, null];
  }
  if (kind === "levels") {
    const l = (p.levels || []).find((x) => x.id === place.level);
    return [l ? `${l.label} (${l.kind || "fader"})` : `(no level ${place.level})`, null];
  }
  return [place.text, null];
}

function canvas(pl, pg) {
  const pi = S.panel, gi = S.page;
  const cols = Math.max(1, Math.min(12, Number(pl.columns) || 1));
  const rows = Math.max(1, Math.min(12, Number(pl.rows) || 1));
  const grid = h("div", { class: "canvas", id: "canvas", role: "group", style: `--cols:${cols};--rows:${rows}`, "aria-label": `Grid of page ${pg.title}, ${cols} columns by ${rows} rows` });
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const cell = h("div", { class: "cell", "data-cell": `${r},${c}`, style: `grid-row:${r + 1};grid-column:${c + 1}` });
      cell.addEventListener("dragover", (ev) => { ev.preventDefault(); cell.classList.add("over"); });
      cell.addEventListener("dragleave", () => cell.classList.remove("over"));
      cell.addEventListener("drop", (ev) => {
        ev.preventDefault();
        const data = ev.dataTransfer.getData("text/plain");
        if (!data) return;
        const [kind, index] = data.split(":");
        moveTo(kind, Number(index), r, c);
      });
      grid.append(cell);
    }
  }
  for (const { kind, index, place } of places(pg)) {
    const [label, icon] = tileLabel(kind, place);
    const selected = S.sel && S.sel.kind === kind && S.sel.index === index;
    const path = `panels[${pi}].pages[${gi}].${kind}[${index}]`;
    const tile = h("div", {
      class: `tile tile-${kind}${selected ? " selected" : ""}`,
      tabindex: "0",
      role: "button",
      draggable: "true",
      "aria-pressed": String(!!selected),
      "aria-label": `${kind === "buttons" ? "Button" : kind === "levels" ? "Level" : "Text"} ${label} at row ${place.row}, column ${place.col}`,
      "data-path": path,
      "data-tile": `${kind}:${index}`,
      style: `grid-row:${place.row + 1} / span ${place.height || 1};grid-column:${place.col + 1} / span ${place.width || 1}`,
    }, icon ? svgIcon(icon, "tile-icon") : null, h("span", { class: "tile-label", text: label }));
    tile.addEventListener("click", () => { S.sel = { kind, index }; render(); });
    tile.addEventListener("dragstart", (ev) => {
      // A drag of the resize corner resizes; it does not move the tile.
      if (S.resizing) ev.preventDefault();
      else ev.dataTransfer.setData("text/plain", `${kind}:${index}`);
    });
    tile.addEventListener("keydown", (ev) => tileKey(ev, kind, index));
    const handle = h("span", { class: "resize", "aria-hidden": "true", title: "Drag to resize" });
    handle.addEventListener("pointerdown", (ev) => startResize(ev, kind, index, grid));
    handle.addEventListener("mousedown", (ev) => {
      ev.preventDefault();
      ev.stopPropagation();
    });
    tile.append(handle);
    grid.append(tile);
  }
  return grid;
}

function moveTo(kind, index, r, c) {
  edit((p) => {
    const pl = p.panels[S.panel];
    const pl_ = pl.pages[S.page][kind][index];
    pl_.row = Math.max(0, Math.min(r, pl.rows - (pl_.height || 1)));
    pl_.col = Math.max(0, Math.min(c, pl.columns - (pl_.width || 1)));
    S.sel = { kind, index };
  });
}

function tileKey(ev, kind, index) {
  const d = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[ev.key];
  if (d) {
    ev.preventDefault();
    const key = `${kind}:${index}:${ev.shiftKey ? "size" : "move"}`;
    edit((p) => {
      const pl = p.panels[S.panel];
      const it = pl.pages[S.page][kind][index];
      if (ev.shiftKey) {
        it.height = Math.max(1, Math.min((it.height || 1) + d[0], pl.rows - it.row));
        it.width = Math.max(1, Math.min((it.width || 1) + d[1], pl.columns - it.col));
      } else {
        it.row = Math.max(0, Math.min(it.row + d[0], pl.rows - (it.height || 1)));
        it.col = Math.max(0, Math.min(it.col + d[1], pl.columns - (it.width || 1)));
      }
      S.sel = { kind, index };
    }, key);
    focusTile(kind, index);
  } else if (ev.key === "Delete" || ev.key === "Backspace") {
    ev.preventDefault();
    removePlace(kind, index);
  } else if (ev.key === "Enter" || ev.key === " ") {
    ev.preventDefault();
    S.sel = { kind, index };
    render();
    focusTile(kind, index);
  }
}

function focusTile(kind, index) {
  const t = document.querySelector(`[data-tile="${kind}:${index}"]`);
  if (t) t.focus();
}

function removePlace(kind, index) {
  edit((p) => {
    p.panels[S.panel].pages[S.page][kind].splice(index, 1);
    S.sel = null;
  });
}

function startResize(ev, kind, index, grid) {
  ev.preventDefault();
  ev.stopPropagation();
  const pl = panel();
  const it = page()[kind][index];
  const rect = grid.getBoundingClientRect();
  const cw = rect.width / pl.columns, ch = rect.height / pl.rows;
  let first = true;
  S.resizing = true;
  const move = (e) => {
    const w = Math.max(1, Math.min(Math.ceil((e.clientX - rect.left) / cw) - it.col, pl.columns - it.col));
    const hgt = Math.max(1, Math.min(Math.ceil((e.clientY - rect.top) / ch) - it.row, pl.rows - it.row));
    if (w === (it.width || 1) && hgt === (it.height || 1)) return;
    edit((p) => {
      const x = p.panels[S.panel].pages[S.page][kind][index];
      x.width = w;
      x.height = hgt;
      S.sel = { kind, index };
    }, first ? null : `resize:${kind}:${index}`);
    first = false;
  };
  const up = () => {
    S.resizing = false;
    window.removeEventListener("pointermove", move);
    window.removeEventListener("pointerup", up);
    S.lastKey = null;
  };
  window.addEventListener("pointermove", move);
  window.addEventListener("pointerup", up);
}

// ---------- the property panel ----------

function props() {
  const aside = h("aside", { class: "props", "aria-labelledby": "props-title" }, h("h2", { id: "props-title", class: "props-title", text: "Properties" }));
  if (S.section !== "layout" || !S.sel || !page()) {
    aside.append(h("p", { class: "hint", text: S.section === "layout" ? "Select a tile to edit it." : "" }));
    return aside;
  }
  const { kind, index } = S.sel;
  const pl = page()[kind] && page()[kind][index];
  if (!pl) return aside;
  const base = `panels[${S.panel}].pages[${S.page}].${kind}[${index}]`;
  aside.append(section("Place on this page",
    row(field("Row", pl, "row", `${base}.row`, { type: "number" }), field("Column", pl, "col", `${base}.col`, { type: "number" })),
    row(field("Width", pl, "width", `${base}.width`, { type: "number" }), field("Height", pl, "height", `${base}.height`, { type: "number" })),
    kind === "levels" ? field("Orientation", pl, "orientation", `${base}.orientation`, { options: ["vertical", "horizontal"], default: "vertical" }) : null,
    kind === "texts" ? field("Text", pl, "text", `${base}.text`, { hint: "a template: {name} shows a variable or level" }) : null,
    smallButton("Remove from page", () => removePlace(kind, index))));
  if (kind === "buttons") {
    const bi = (P().buttons || []).findIndex((b) => b.id === pl.button);
    if (bi >= 0) aside.append(section("Button (on every page that places it)", buttonFields(P().buttons[bi], bi)));
    else aside.append(field("Button", pl, "button", `${base}.button`, { options: ids(P().buttons) }));
  }
  if (kind === "levels") {
    const li = (P().levels || []).findIndex((l) => l.id === pl.level);
    if (li >= 0) aside.append(section("Level", levelFields(P().levels[li], li)));
  }
  return aside;
}

function iconPicker(b, path) {
  const pick = (name) => edit(() => { if (name) b.icon = name; else delete b.icon; }, null);
  return h("div", { class: "field" }, h("span", { class: "label", id: `${path}-icon-label`, text: "Icon" }),
    h("div", { class: "icons", role: "group", "aria-labelledby": `${path}-icon-label`, "data-path": `${path}.icon` },
      h("button", { type: "button", class: "icon-choice", "aria-pressed": String(!b.icon), onclick: () => pick(null), title: "No icon" }, "none"),
      ICONS.map((i) => h("button", { type: "button", class: "icon-choice", "aria-pressed": String(b.icon === i.name), "aria-label": i.name, title: i.name, onclick: () => pick(i.name) }, svgIcon(i.name)))));
}

function buttonFields(b, i) {
  const path = `buttons[${i}]`;
  const groups = [...new Set((P().buttons || []).map((x) => x.group).filter(Boolean))];
  return h("div", { class: "fields" },
    row(
      field("Id", b, "id", `${path}.id`, { onSet: (v) => { renameButton(P(), b.id, v); b.id = v; } }),
      field("Label", b, "label", `${path}.label`),
    ),
    field("Second line", b, "sublabel", `${path}.sublabel`, { optional: true }),
    iconPicker(b, path),
    row(
      field("Kind", b, "kind", `${path}.kind`, { options: ["momentary", "toggle", "interlock"], default: "momentary" }),
      field("Group", b, "group", `${path}.group`, { optional: true, list: "groups", hint: "interlock buttons only" }),
    ),
    h("datalist", { id: "groups" }, groups.map((g) => h("option", { value: g }))),
    row(
      field("LED colour", b, "color", `${path}.color`, { options: COLORS, default: "green" }),
      field("LED follows", b, "led", `${path}.led`, { options: [["state", "the button"], ["feedback", "feedback only"]], default: "state" }),
    ),
    field("Repeat while held", b, "repeat", `${path}.repeat`, { type: "checkbox", onSet: (on) => { if (on) b.repeat = { delay_ms: 400, interval_ms: 200 }; else delete b.repeat; } }),
    b.repeat ? row(field("Delay ms", b.repeat, "delay_ms", `${path}.repeat.delay_ms`, { type: "number" }), field("Interval ms", b.repeat, "interval_ms", `${path}.repeat.interval_ms`, { type: "number" })) : null,
    field("Confirm question", b, "confirm", `${path}.confirm`, { optional: true, placeholder: "e.g. Switch the whole room off?" }),
    field("Mutes level", b, "mutes", `${path}.mutes`, { optional: true, list: "mute-levels", hint: "a toggle that is this level's mute" }),
    h("datalist", { id: "mute-levels" }, (P().levels || []).filter((l) => l.mute).map((l) => h("option", { value: l.id }))),
    conditionEditor(b, "enabled", path, "Enabled only while", "always enabled"),
    conditionEditor(b, "led_when", path, "LED lit while", "the LED follows the button or feedback"));
}

// The comparisons of a condition on a variable (VarCondition): exactly one.
const COMPARISONS = [["equals", "equals"], ["not_equals", "is not"], ["above", "is above"], ["below", "is below"]];

// A button's `enabled` or `led_when`: a variable, a comparison and a value.
// No variable: no condition (the key is removed).
function conditionEditor(b, key, path, title, none) {
  const cond = b[key];
  const base = `${path}.${key}`;
  const vars = ids(P().variables);
  const compare = cond ? (COMPARISONS.find(([c]) => cond[c] !== undefined && cond[c] !== null) || COMPARISONS[0])[0] : "equals";
  const fields = [
    field(title, { v: cond ? cond.variable : "" }, "v", `${base}.variable`, {
      options: vars, optional: true, none: `(no condition: ${none})`,
      onSet: (v) => {
        if (!v) delete b[key];
        else if (b[key]) b[key].variable = v;
        else { const kind = ((P().variables || []).find((x) => x.id === v) || {}).kind; b[key] = { variable: v, equals: kind === "bool" ? true : kind === "number" ? 0 : "" }; }
      },
    }),
  ];
  if (cond) {
    fields.push(field("Comparison", { c: compare }, "c", `${base}.comparison`, {
      options: COMPARISONS,
      onSet: (c) => {
        const old = COMPARISONS.map(([k]) => cond[k]).find((x) => x !== undefined && x !== null);
        for (const [k] of COMPARISONS) delete cond[k];
        cond[c] = c === "above" || c === "below" ? (typeof old === "number" ? old : num(String(old ?? "")) ?? 0) : typedValue(String(old ?? ""), cond.variable);
      },
    }));
    const numeric = compare === "above" || compare === "below";
    fields.push(field("Value", cond, compare, `${base}.${compare}`, {
      type: numeric ? "number" : undefined,
      optional: numeric, // an empty limit: no comparison, which the validator names
      convert: numeric ? undefined : (t) => typedValue(t, cond.variable),
    }));
  }
  return h("div", { class: "condition", "data-path": base }, row(...fields),
    !vars.length && !cond ? h("small", { text: "Add a variable (Project) to make this depend on it." }) : null);
}

// A panel's summary bar: templates shown side by side above the pages.
function summaryEditor(pl, pi) {
  const lines = pl.summary || [];
  const base = `panels[${pi}].summary`;
  return h("fieldset", { class: "summary-editor", "data-path": base },
    h("legend", { text: "Summary bar" }),
    h("p", { class: "hint", text: "Shown above the pages on this panel, side by side: templates such as \"Display {projector_state}\" or \"Volume {volume} dB\"." }),
    lines.map((_, j) => row(
      field(`Summary ${j + 1}`, lines, j, `${base}[${j}]`, { onSet: (v) => { pl.summary[j] = v ?? ""; } }),
      h("div", { class: "field actions" },
        smallButton("Up", () => edit((p) => { const a = p.panels[pi].summary; [a[j - 1], a[j]] = [a[j], a[j - 1]]; }), { disabled: j === 0, "aria-label": `Move summary ${j + 1} up` }),
        smallButton("Remove", () => edit((p) => { p.panels[pi].summary.splice(j, 1); if (!p.panels[pi].summary.length) delete p.panels[pi].summary; }), { "aria-label": `Remove summary ${j + 1}` })))),
    smallButton("Add summary entry", () => edit((p) => { const q = p.panels[pi]; q.summary = q.summary || []; const v = ids(p.variables)[0]; q.summary.push(v ? `{${v}}` : "Text"); }), { id: "add-summary" }));
}

// ---------- lists: buttons, levels, devices, sequences, feedback, timers ----------

function listEditor(key, title, editor, create) {
  const list = P()[key] || [];
  const out = h("div", { class: "list" }, h("h2", { text: title }));
  list.forEach((item, i) => {
    const name = item.id || (item.device ? `${item.device}: ${item.equals ?? item.regex ?? ""}` : `#${i + 1}`);
    out.append(h("section", { class: "card", "data-item": `${key}[${i}]` },
      h("div", { class: "card-head" }, h("h3", { text: name }),
        smallButton("Remove", () => edit((p) => p[key].splice(i, 1)), { "aria-label": `Remove ${name}` })),
      editor(item, i)));
  });
  out.append(h("button", { type: "button", id: `add-${key}`, onclick: () => edit((p) => create(p)) }, `Add ${title.toLowerCase().replace(/s$/, "").replace("feedback rule", "feedback rule")}`));
  return out;
}

function buttonEditor(b, i) {
  return buttonFields(b, i);
}

function levelFields(l, i) {
  const path = `levels[${i}]`;
  return h("div", { class: "fields" },
    row(field("Id", l, "id", `${path}.id`), field("Label", l, "label", `${path}.label`), field("Kind", l, "kind", `${path}.kind`, { options: ["fader", "meter"], default: "fader" })),
    row(field("Min", l, "min", `${path}.min`, { type: "number" }), field("Max", l, "max", `${path}.max`, { type: "number" }), field("Step", l, "step", `${path}.step`, { type: "number" }), field("Unit", l, "unit", `${path}.unit`, { optional: true })),
    row(field("Initial", l, "initial", `${path}.initial`, { type: "number", optional: true }), field("Has a mute", l, "mute", `${path}.mute`, { type: "checkbox" })),
    row(field("Device", l, "device", `${path}.device`, { options: ids(P().devices), optional: true }), field("Send", l, "send", `${path}.send`, { optional: true, placeholder: "VOL {value}" }), field("Send mute", l, "send_mute", `${path}.send_mute`, { optional: true }),
      field("Send at most every (ms)", l, "send_interval_ms", `${path}.send_interval_ms`, { type: "number", hint: "while the level moves; the final value is always sent" })));
}

function levelEditor(l, i) {
  return levelFields(l, i);
}

function newLevel(p) {
  p.levels = p.levels || [];
  p.levels.push({ id: uniqueId("level", allIds()), label: "New level", kind: "fader", min: 0, max: 100, step: 1 });
}

function deviceEditor(d, i) {
  const path = `devices[${i}]`;
  return h("div", { class: "fields" },
    row(field("Id", d, "id", `${path}.id`), field("Name", d, "name", `${path}.name`)),
    row(
      field("Transport", d, "transport", `${path}.transport`, { options: ["tcp", "udp", "http", "serial"] }),
      field("Address", d, "address", `${path}.address`, { hint: d.transport === "serial" ? "the port, e.g. /dev/ttyUSB0" : d.transport === "http" ? "a base URL, e.g. http://10.0.0.30" : "host:port" }),
      d.transport === "serial" ? field("Serial", d, "serial", `${path}.serial`, { optional: true, placeholder: "9600 8N1" }) : null,
    ),
    row(
      field("Terminator", d, "terminator", `${path}.terminator`, { hint: "escapes: \\r \\n \\xNN" }),
      field("Poll", d, "poll", `${path}.poll`, { optional: true, hint: "sent every poll seconds" }),
      field("Poll seconds", d, "poll_secs", `${path}.poll_secs`, { type: "number" }),
      field("Reconnect seconds", d, "reconnect_secs", `${path}.reconnect_secs`, { type: "number" }),
    ),
    row(
      field("Kind", d, "kind", `${path}.kind`, { options: ["projector", "display", "video_switcher", "audio", "camera", "lighting", "blinds"], optional: true, hint: "the word notices use" }),
      field("Busy reply", d, "busy", `${path}.busy`, { optional: true, hint: "a regex, e.g. ERR3$" }),
      field("When busy", d, "when_busy", `${path}.when_busy`, { options: ["refuse", "queue"], optional: true }),
    ),
    field("Status LED", d, "status_led", `${path}.status_led`, { options: ids(P().buttons), optional: true }));
}

function newDevice(p) {
  p.devices = p.devices || [];
  p.devices.push({ id: uniqueId("device", ids(p.devices)), name: "", transport: "tcp", address: "192.0.2.10:23", terminator: "\\r", poll_secs: 10, reconnect_secs: 5 });
}

const STEP_KINDS = [
  ["send", "Send text"],
  ["send_hex", "Send bytes (hex)"],
  ["http", "HTTP request"],
  ["wait_ms", "Wait"],
  ["led", "Set an LED"],
  ["press", "Press a button"],
  ["set_variable", "Set a variable"],
  ["set_level", "Move a level"],
];

function stepKind(st) {
  return (STEP_KINDS.find(([k]) => st[k] !== undefined && st[k] !== null) || ["send"])[0];
}

// A value typed for a variable of its kind, or a level's number.
function typedValue(text, variable) {
  const v = (P().variables || []).find((x) => x.id === variable);
  if (!v || v.kind === "text" || !v.kind) return text;
  if (v.kind === "bool") return text === "true" ? true : text === "false" ? false : text;
  return num(text);
}

function stepFields(st, path) {
  const k = stepKind(st);
  const devices = ids(P().devices), buttons = ids(P().buttons);
  switch (k) {
    case "send": return [field("Text", st, "send", `${path}.send`, { hint: "escapes \\r \\n \\xNN; {level} templates" }), field("Device", st, "device", `${path}.device`, { options: devices, optional: true })];
    case "send_hex": return [field("Bytes", st, "send_hex", `${path}.send_hex`, { placeholder: "02 41 03" }), field("Device", st, "device", `${path}.device`, { options: devices, optional: true })];
    case "http": return [field("Request", st, "http", `${path}.http`, { placeholder: "POST /api/power" }), field("Body", st, "body", `${path}.body`, { optional: true }), field("Device", st, "device", `${path}.device`, { options: devices, optional: true })];
    case "wait_ms": return [field("Milliseconds", st, "wait_ms", `${path}.wait_ms`, { type: "number" })];
    case "led": return [field("LED", st, "led", `${path}.led`, { options: LED_MODES }), field("Button", st, "button", `${path}.button`, { options: buttons, optional: true })];
    case "press": return [field("Button", st, "press", `${path}.press`, { options: buttons })];
    case "set_variable": return [field("Variable", st, "set_variable", `${path}.set_variable`, { options: ids(P().variables) }), field("Value", st, "value", `${path}.value`, { convert: (t) => typedValue(t, st.set_variable) })];
    default: return [field("Level", st, "set_level", `${path}.set_level`, { options: ids(P().levels) }), field("Value", st, "value", `${path}.value`, { type: "number" })];
  }
}

function setStepKind(st, k) {
  for (const [key] of STEP_KINDS) delete st[key];
  for (const key of ["device", "body", "button", "value"]) delete st[key];
  st[k] = { send: "", send_hex: "", http: "GET /", wait_ms: 500, led: "on", press: (P().buttons || [{}])[0].id || "", set_variable: ids(P().variables)[0] || "", set_level: ids(P().levels)[0] || "" }[k];
  if (["send", "send_hex", "http"].includes(k) && (P().devices || []).length) st.device = P().devices[0].id;
  if (k === "set_level") st.value = 0;
  if (k === "set_variable") st.value = "";
}

function sequenceEditor(s, i) {
  const path = `sequences[${i}]`;
  const steps = h("ol", { class: "steps", "aria-label": "Steps" });
  s.steps.forEach((st, j) => {
    const sp = `${path}.steps[${j}]`;
    const kind = h("select", { "aria-label": `Step ${j + 1} action`, "data-path": `${sp}`, "data-focus": `${sp}.kind` },
      STEP_KINDS.map(([k, t]) => h("option", { value: k, text: t, selected: stepKind(st) === k })));
    kind.addEventListener("change", () => edit(() => setStepKind(st, kind.value)));
    steps.append(h("li", { class: "step" }, kind, stepFields(st, sp),
      h("span", { class: "step-actions" },
        smallButton("Up", () => edit((p) => { const a = p.sequences[i].steps; [a[j - 1], a[j]] = [a[j], a[j - 1]]; }), { disabled: j === 0, "aria-label": `Move step ${j + 1} up` }),
        smallButton("Down", () => edit((p) => { const a = p.sequences[i].steps; [a[j + 1], a[j]] = [a[j], a[j + 1]]; }), { disabled: j === s.steps.length - 1, "aria-label": `Move step ${j + 1} down` }),
        smallButton("Remove", () => edit((p) => p.sequences[i].steps.splice(j, 1)), { "aria-label": `Remove step ${j + 1}` }))));
  });
  return h("div", { class: "fields" },
    row(
      field("Id", s, "id", `${path}.id`),
      field("Button", s, "button", `${path}.button`, { options: ids(P().buttons) }),
      field("On", s, "on", `${path}.on`, { options: ["press", "release", "repeat"], default: "press" }),
      field("Only when the button is", s, "when", `${path}.when`, { options: ["lit", "unlit", "latched", "unlatched"], optional: true, none: "(always)" }),
    ),
    steps,
    smallButton("Add step", () => edit((p) => { const st = {}; setStepKind(st, "send"); p.sequences[i].steps.push(st); }), { "aria-label": `Add step to ${s.id}` }));
}

function newSequence(p) {
  p.sequences = p.sequences || [];
  const button = (p.buttons || [{}])[0].id || "";
  p.sequences.push({ id: uniqueId("sequence", ids(p.sequences)), button, on: "press", steps: [{ wait_ms: 100 }] });
}

function feedbackEditor(f, i) {
  const path = `feedback[${i}]`;
  const matchKind = f.regex !== undefined && f.regex !== null ? "regex" : "equals";
  const actions = ["press", "led", "variable", "level", "mute"];
  const action = actions.find((a) => f[a] !== undefined && f[a] !== null) || "press";
  const setMatch = (k) => { const v = f.regex ?? f.equals ?? ""; delete f.regex; delete f.equals; f[k] = v; };
  const setAction = (k) => { for (const a of [...actions, "button", "value"]) delete f[a]; f[k] = k === "led" ? "on" : k === "press" ? ids(P().buttons)[0] || "" : k === "variable" ? ids(P().variables)[0] || "" : k === "level" || k === "mute" ? ids(P().levels)[0] || "" : ""; if (k === "led") f.button = ids(P().buttons)[0] || ""; };
  const out = h("div", { class: "fields" },
    row(
      field("Device", f, "device", `${path}.device`, { options: ids(P().devices) }),
      field("Match", { m: matchKind }, "m", `${path}.match`, { options: [["equals", "the whole line"], ["regex", "a regular expression"]], onSet: setMatch }),
      field(matchKind === "regex" ? "Regex" : "Line", f, matchKind, `${path}.${matchKind}`),
    ),
    row(
      field("Then", { a: action }, "a", `${path}.action`, { options: [["press", "press a button"], ["led", "set an LED"], ["variable", "set a variable"], ["level", "move a level"], ["mute", "set a mute"]], onSet: setAction }),
      action === "press" ? field("Button", f, "press", `${path}.press`, { hint: "an id, or captures: input_${1}" }) : null,
      action === "led" ? [field("LED", f, "led", `${path}.led`, { hint: "off, on, slow_blink, fast_blink or $2" }), field("Button", f, "button", `${path}.button`)] : null,
      action === "variable" ? field("Variable", f, "variable", `${path}.variable`, { options: ids(P().variables) }) : null,
      action === "level" || action === "mute" ? field("Level", f, action, `${path}.${action}`, { options: ids(P().levels) }) : null,
      ["variable", "level", "mute"].includes(action) ? field("Value", f, "value", `${path}.value`, { optional: true, placeholder: "$1" }) : null,
    ));
  if (matchKind === "regex") out.append(regexTester(f, i));
  return out;
}

function regexTester(f, i) {
  const id = `sample-${i}`;
  const input = h("input", { id, "data-focus": id, value: S.samples[i] ?? "", placeholder: "a line the device sends", spellcheck: "false", autocomplete: "off" });
  const result = h("div", { class: "regex-result", role: "status", "aria-live": "polite" });
  const show = () => {
    S.samples[i] = input.value;
    result.replaceChildren();
    const r = JSON.parse(core.regex_test(f.regex || "", input.value));
    if (r.error) result.append(h("p", { class: "bad", text: r.error }));
    else if (!r.matched) result.append(h("p", { text: input.value ? "No match." : "" }));
    else result.append(h("table", { class: "captures" }, h("caption", { text: "Match: captures" }),
      h("tr", {}, h("th", { scope: "col", text: "capture" }), h("th", { scope: "col", text: "text" })),
      r.captures.map((c) => h("tr", {}, h("td", {}, h("code", { text: c.name })), h("td", { text: c.text === null ? "(not matched)" : JSON.stringify(c.text) })))));
  };
  input.addEventListener("input", show);
  queueMicrotask(show);
  return h("div", { class: "regex-tester" }, h("div", { class: "field" }, h("label", { for: id, text: "Test with a sample line" }), input), result);
}

function newFeedback(p) {
  p.feedback = p.feedback || [];
  p.feedback.push({ device: ids(p.devices)[0] || "", equals: "", press: ids(p.buttons)[0] || "" });
}

function timerEditor(t, i) {
  const path = `timers[${i}]`;
  const action = t.set_variable !== undefined && t.set_variable !== null ? "set_variable" : "press";
  const runs = JSON.parse(core.next_runs(t.cron || "", t.time_zone || "UTC", Date.now(), 5));
  return h("div", { class: "fields" },
    row(
      field("Id", t, "id", `${path}.id`),
      field("Cron", t, "cron", `${path}.cron`, { hint: "sec min hour day month weekday, e.g. 0 0 7 * * MON-FRI" }),
      field("Time zone", t, "time_zone", `${path}.time_zone`, { hint: "IANA name, e.g. Europe/Copenhagen" }),
    ),
    row(
      field("Then", { a: action }, "a", `${path}.action`, { options: [["press", "press a button"], ["set_variable", "set a variable"]], onSet: (k) => { delete t.press; delete t.set_variable; delete t.value; if (k === "press") t.press = ids(P().buttons)[0] || ""; else { t.set_variable = ids(P().variables)[0] || ""; t.value = ""; } } }),
      action === "press" ? field("Button", t, "press", `${path}.press`, { options: ids(P().buttons) }) : [field("Variable", t, "set_variable", `${path}.set_variable`, { options: ids(P().variables) }), field("Value", t, "value", `${path}.value`, { convert: (v) => typedValue(v, t.set_variable) })],
    ),
    h("div", { class: "next-runs", role: "status" },
      runs.error ? h("p", { class: "bad", text: runs.error }) : [h("p", { text: "Next five runs:" }), h("ol", {}, runs.runs.map((r) => h("li", { text: r })))]));
}

function newTimer(p) {
  p.timers = p.timers || [];
  p.timers.push({ id: uniqueId("timer", ids(p.timers)), cron: "0 0 7 * * MON-FRI", time_zone: "UTC", press: ids(p.buttons)[0] || "" });
}

function projectEditor() {
  const info = P().project;
  const vars = P().variables || [];
  return h("div", { class: "list" }, h("h2", { text: "Project" }),
    section("Identity", row(field("Name", info, "name", "project.name"), field("Revision", info, "revision", "project.revision", { type: "number" })),
      row(field("Description", info, "description", "project.description"), field("Location", info, "location", "project.location"))),
    section("Variables",
      vars.map((v, i) => row(field("Id", v, "id", `variables[${i}].id`), field("Kind", v, "kind", `variables[${i}].kind`, { options: ["text", "number", "bool"], default: "text" }),
        field("Initial", v, "initial", `variables[${i}].initial`, { optional: true, convert: (t) => (v.kind === "number" ? num(t) : v.kind === "bool" ? (t === "true" ? true : t === "false" ? false : t) : t) }),
        smallButton("Remove", () => edit((p) => p.variables.splice(i, 1)), { "aria-label": `Remove variable ${v.id}` }))),
      smallButton("Add variable", () => edit((p) => { p.variables = p.variables || []; p.variables.push({ id: uniqueId("variable", allIds()), kind: "text" }); }))));
}

// ---------- errors: listed together and attached to their controls ----------

function errorsPanel() {
  const list = h("ul", { id: "error-list" });
  for (const e of S.errors) {
    const where = e.line ? `line ${e.line}: ` : "";
    list.append(h("li", {}, h("button", { type: "button", class: "link", onclick: () => goTo(e.path) }, `${where}${e.path ? e.path + ": " : ""}${e.message}`)));
  }
  return h("section", { class: "errors", "aria-label": "Errors", hidden: !S.errors.length }, h("h2", { text: "Errors" }), list);
}

// The control for a path, or the nearest enclosing one.
function controlFor(path) {
  let p = path;
  while (p) {
    const el = document.querySelector(`[data-path="${CSS.escape(p)}"]`);
    if (el) return el;
    const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
    if (cut <= 0) break;
    p = p.slice(0, cut);
  }
  return null;
}

function markErrors() {
  for (const e of S.errors) {
    const el = controlFor(e.path);
    if (!el) continue;
    el.setAttribute("aria-invalid", "true");
    el.classList.add("invalid");
    const msgId = "err-" + (el.dataset.path || "").replace(/[^a-zA-Z0-9]/g, "-");
    let msg = document.getElementById(msgId);
    if (!msg) {
      msg = h("p", { class: "field-error", id: msgId });
      if (el.classList.contains("tile")) el.append(h("span", { class: "tile-error", "aria-hidden": "true", text: "!" }));
      else el.insertAdjacentElement("afterend", msg);
      el.setAttribute("aria-describedby", msgId);
    }
    msg.textContent = (msg.textContent ? msg.textContent + " " : "") + e.message;
    if (el.classList.contains("tile")) el.setAttribute("title", e.message);
  }
}

// Shows the control an error is about: its section, panel, page and tile.
function goTo(path) {
  S.section = sectionOf(path);
  const m = /^panels\[(\d+)\](?:\.pages\[(\d+)\](?:\.(buttons|levels|texts)\[(\d+)\])?)?/.exec(path);
  if (m) {
    S.panel = Number(m[1]);
    if (m[2] !== undefined) S.page = Number(m[2]);
    if (m[3]) S.sel = { kind: m[3], index: Number(m[4]) };
  }
  render();
  const el = controlFor(path);
  if (el) {
    el.scrollIntoView({ block: "center" });
    el.focus();
  }
}

// ---------- open, save, diff, apply ----------

async function call(method, url, body) {
  try {
    const r = await fetch(url, { method, body, headers: { Accept: "application/json" }, credentials: "same-origin" });
    const type = r.headers.get("content-type") || "";
    if (type.includes("json")) return { status: r.status, body: await r.json() };
    return { status: r.status, body: { text: await r.text() } };
  } catch (e) {
    return { status: 0, body: { ok: false, title: "No answer", text: "The controller did not answer; check the network and try again." } };
  }
}

// What runs: whether it is a fresh installation's demo, and its revision.
async function loadInfo() {
  const r = await call("GET", "/admin/api/info");
  if (r.status === 200 && r.body.running) {
    S.fresh = !!r.body.fresh;
    S.runningRevision = Number(r.body.running.revision) || 0;
  }
}

async function loadHistory() {
  const r = await call("GET", "/admin/api/history");
  S.history = Array.isArray(r.body) ? r.body : [];
}

async function openVersion(which) {
  if (which === "new") {
    S.which = "new";
    openModel(
      "",
      {
        project: { name: "New room", revision: 1, description: "", location: "" },
        buttons: [],
        panels: [{ id: "tablet", name: "Tablet", profile: "tablet", columns: 4, rows: 3, pages: [{ id: "main", title: "Main", buttons: [] }] }],
        devices: [],
        sequences: [],
        feedback: [],
        timers: [],
      },
      "a new project",
    );
    return;
  }
  const r = await call("GET", "/admin/api/version/" + encodeURIComponent(which));
  if (r.status !== 200) {
    S.output = { ok: false, title: r.body.title || "Cannot open", text: r.body.text || "" };
    render();
    return;
  }
  S.which = which;
  const label = which === "demo" ? "the built-in demo" : which === "running" || which === "pending" ? `the ${which} project` : `history #${which}`;
  openText(r.body.text, label);
}

function openText(text, label) {
  const r = JSON.parse(core.open(text));
  if (!r.project) {
    S.output = { ok: false, title: "Cannot open " + label, text: "Its shape is wrong, so it cannot be edited here without losing parts of it; fix these in the file:\n" + r.errors.map((e) => `line ${e.line}: ${e.path}: ${e.message}`).join("\n") };
    render();
    return;
  }
  openModel(text, r.project, label);
}

function openModel(text, project, label) {
  S.original = text;
  S.project = project;
  S.opened = label;
  S.undo = [];
  S.redo = [];
  S.lastKey = null;
  S.panel = 0;
  S.page = 0;
  S.sel = null;
  S.saved = false;
  S.output = null;
  changed();
}

// Each save gets a revision after the running project's (unless the
// installer already gave it a higher one), so the history tells versions
// apart. A fresh installation's first project is revision 1: the demo it
// replaces is not its predecessor.
async function bumpRevision() {
  await loadInfo();
  const info = S.project.project || (S.project.project = {});
  const after = S.fresh ? 0 : S.runningRevision;
  const now = Number(info.revision) || 0;
  if (now <= after) {
    info.revision = after + 1;
    validate();
  }
}

async function save() {
  validate();
  if (S.errors.length) {
    render();
    return;
  }
  await bumpRevision();
  const form = new FormData();
  form.append("project", new Blob([S.toml], { type: "text/plain" }), "project.toml");
  const r = await call("POST", "/admin/api/upload?via=designer", form);
  if (r.status !== 200) {
    S.output = { ok: false, title: r.body.title || "Not saved", text: r.body.text || "" };
    render();
    return;
  }
  S.saved = true;
  if (S.fresh && S.which !== "demo") {
    // Against the demo every item would read "removed": it is not this
    // room's project, so there is nothing to compare with.
    S.output = { ok: true, title: "Saved as the pending project", text: r.body.text + "\nThis is the controller's first project of its own: apply it to replace the built-in demo." };
  } else {
    const d = await call("GET", "/admin/api/diff?from=running&to=pending");
    S.output = { ok: true, title: "Saved as the pending project", text: r.body.text, diff: d.status === 200 ? d.body : null };
  }
  render();
  $("output").scrollIntoView({ block: "start" });
}

async function apply() {
  const r = await call("POST", "/admin/api/apply?via=designer");
  S.output = { ok: r.status === 200, title: r.body.title || "Apply", text: r.body.text || "" };
  if (r.status === 200) {
    // What runs now is what we edit from here on.
    S.original = S.toml;
    S.saved = false;
    S.opened = "the running project";
    S.which = "running";
    await loadHistory();
    await loadInfo();
  }
  render();
  $("output").scrollIntoView({ block: "start" });
}

function outputPanel() {
  const o = S.output;
  const out = h("section", { id: "output", class: "output " + (o ? (o.ok ? "ok" : "error") : ""), role: "status", "aria-live": "polite", hidden: !o });
  if (!o) return out;
  out.append(h("h2", { text: o.title }), h("pre", { text: o.text }));
  if (o.diff) {
    out.append(h("h3", { text: "What changed, against the running project" }),
      h("ul", { class: "changes" }, (o.diff.changes.length ? o.diff.changes : ["no changes in meaning"]).map((c) => h("li", { text: c }))));
    const pre = h("pre", { class: "unified", "aria-label": "Text differences" });
    for (const line of o.diff.unified.split("\n")) {
      const cls = line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : line.startsWith("@@") ? "hunk" : "";
      pre.append(h("span", { class: cls, text: line + "\n" }));
    }
    out.append(pre);
  }
  return out;
}

// ---------- the live preview: the real panel, over a preview controller ----------
//
// The server runs the draft on a preview controller of its own (no
// devices, no room logic, nothing shared with the running controller:
// server/src/services/http/preview.rs) and serves the panel app for it
// under /designer/preview/{token}. The iframe shows that panel page at the
// chosen screen size; clicking in it is the dry run. Each valid change is
// posted (debounced); the preview's panel shows its new layout in place
// (on the page it shows) when its project changes, as a real panel does.

const PREVIEW_DELAY_MS = 600;

// The preview section is made once and kept out of render(): re-inserting
// an iframe would reload it.
function previewSection() {
  if (S.previewEl) return S.previewEl;
  const frame = h("iframe", { id: "preview-frame", title: "Preview of the panel" });
  const box = h("div", { class: "preview-device" }, frame);
  const sizes = h("div", { class: "group", role: "group", "aria-label": "Screen size" },
    Object.entries(SIZES).map(([k, [, , name]]) => h("button", { type: "button", "data-size": k, onclick: () => showPreview(k) }, name)));
  const status = h("p", { id: "preview-status", class: "hint", role: "status", "aria-live": "polite" });
  S.previewEl = h("section", { class: "preview", id: "preview", "aria-label": "Preview", hidden: true },
    h("div", { class: "preview-head" }, h("h2", { text: "Preview" }), sizes,
      h("p", { class: "hint", text: "The real panel, running this draft on a preview controller: clicks are a dry run, nothing is sent to any device." })),
    status, box);
  window.addEventListener("resize", fitPreview);
  return S.previewEl;
}

function showPreview(size) {
  S.previewSize = size;
  render();
}

// After every render: show or hide the section, mark the size, and post
// the draft if it changed.
function syncPreview() {
  const el = previewSection();
  el.hidden = !S.previewSize;
  if (!S.previewSize) {
    // Closed: the panel in it goes (and with it its live channel, so the
    // preview can expire); opening again posts the draft anew.
    clearTimeout(S.previewTimer);
    if (S.previewSrc) $("preview-frame").src = "about:blank";
    S.previewSrc = null;
    S.previewPosted = null;
    return;
  }
  for (const b of el.querySelectorAll("[data-size]")) b.setAttribute("aria-pressed", String(b.dataset.size === S.previewSize));
  fitPreview();
  if (S.errors.length) {
    previewStatus("Fix the errors to update the preview.", true);
    return;
  }
  clearTimeout(S.previewTimer);
  if (S.toml !== S.previewPosted || !S.previewBase) {
    S.previewTimer = setTimeout(postPreview, S.previewBase ? PREVIEW_DELAY_MS : 0);
  } else {
    previewStatus("", false);
    showPanel();
  }
}

function previewStatus(text, bad) {
  const st = $("preview-status");
  st.textContent = text;
  st.className = bad ? "bad" : "hint";
}

// One post at a time (the first one makes the preview); a change made
// meanwhile is posted when it is answered.
async function postPreview() {
  if (S.previewBusy) {
    S.previewAgain = true;
    return;
  }
  S.previewBusy = true;
  try {
    const text = S.toml;
    const token = S.previewBase ? "?token=" + encodeURIComponent(S.previewBase.split("/").pop()) : "";
    const r = await call("POST", "/designer/preview" + token, new Blob([text], { type: "text/plain" }));
    if (r.status !== 200) {
      previewStatus(`${r.body.title || "No preview"}: ${r.body.text || ""}`, true);
      return;
    }
    S.previewPosted = text;
    if (r.body.base !== S.previewBase) S.previewSrc = null; // a new preview: load it
    S.previewBase = r.body.base;
    previewStatus("", false);
    if (S.previewSize) showPanel();
  } finally {
    S.previewBusy = false;
    if (S.previewAgain) {
      S.previewAgain = false;
      syncPreview();
    }
  }
}

// Points the iframe at the panel being edited, on the page being edited
// (the panel remembers its page per tab, as on a tablet). An unchanged
// panel shows its new layout in place when its project changes.
function showPanel() {
  const pl = panel();
  if (!pl || !S.previewBase) return;
  const src = `${S.previewBase}/panel/${encodeURIComponent(pl.id)}`;
  const pg = page();
  const shown = src + "#" + (pg ? pg.id : "");
  if (shown === S.previewShown && src === S.previewSrc) return;
  // Another panel or page picked in the designer: load the panel anew on
  // that page (its state is the preview controller's, so it stays).
  if (pg) sessionStorage.setItem("roomctl.page." + pl.id, pg.id);
  S.previewShown = shown;
  S.previewSrc = src;
  const frame = $("preview-frame");
  frame.title = `Preview of the panel "${pl.name || pl.id}"`;
  if (frame.getAttribute("src") === src) frame.contentWindow.location.reload();
  else frame.src = src;
}

// The iframe has the screen's own size (the panel lays itself out for
// it) and is scaled down to fit the designer's width.
function fitPreview() {
  if (!S.previewSize || !S.previewEl) return;
  const [w, hgt] = SIZES[S.previewSize];
  const box = S.previewEl.querySelector(".preview-device");
  const frame = $("preview-frame");
  const scale = Math.min(1, (S.previewEl.clientWidth - 16) / w, (window.innerHeight * 0.8) / hgt);
  frame.style.width = w + "px";
  frame.style.height = hgt + "px";
  frame.style.transform = `scale(${scale})`;
  box.style.width = Math.round(w * scale) + 16 + "px";
  box.style.height = Math.round(hgt * scale) + 16 + "px";
}

// ---------- start ----------

document.addEventListener("keydown", (ev) => {
  if (!(ev.ctrlKey || ev.metaKey) || !S.project) return;
  const k = ev.key.toLowerCase();
  if (k === "z" && !ev.shiftKey) {
    ev.preventDefault();
    undo();
  } else if (k === "y" || (k === "z" && ev.shiftKey)) {
    ev.preventDefault();
    redo();
  }
});
// A field left: the next keystroke there is a new undo step.
document.addEventListener("focusout", () => {
  if (!S.rendering) S.lastKey = null;
});

async function start() {
  await init({ module_or_path: "/pkg/designer.wasm" });
  window.designerCore = core; // for the wasm-vs-native validator test
  ICONS = JSON.parse(core.icons());
  await loadHistory();
  await loadInfo();
  await openVersion(S.fresh ? "new" : "running");
  document.body.dataset.ready = "true";
}

start().catch((e) => {
  $("designer-main").replaceChildren(h("p", { class: "bad", role: "alert", text: "The designer could not start: " + e }));
});
