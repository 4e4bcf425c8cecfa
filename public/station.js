// roomctl station: keeps a server-rendered station page live. The grid
// follows the cards it shows, a room page its LEDs and levels, over one
// server-sent event stream; room buttons press and release through the
// station. No framework: the panel's wasm stays out of the station.
(function () {
  "use strict";
  function ago(then) {
    if (!then) return "never";
    var s = Math.max(0, Math.floor(Date.now() / 1000) - then);
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    return Math.floor(s / 3600) + " h ago";
  }
  function set(el, sel, text) {
    var t = el.querySelector(sel);
    if (t) t.textContent = text;
  }
  function flag(b) {
    return b === true ? "true" : b === false ? "false" : "unknown";
  }
  // A row of the "now" view: the room's day.
  function paintNow(c) {
    var el = document.getElementById("now-" + c.key);
    if (!el) return;
    var day = c.day || {};
    el.className = c.online ? "online" : "offline";
    el.dataset.booked = flag(day.booked);
    el.dataset.inUse = flag(day.in_use);
    set(el, ".st-state", c.online ? "online" : "offline");
    set(el, ".st-day", day.label || "");
    set(el, ".st-meeting", day.meeting || "");
    set(el, ".st-next", day.next || "");
  }
  // The "now" view's order and summary, as app/src/station/now.rs renders
  // them, kept as rooms change: a room seen after the page was rendered
  // moves to its place (booked but not in use first).
  function rank(tr) {
    var online = tr.className === "online", booked = tr.dataset.booked, inUse = tr.dataset.inUse;
    if (!online) return 6;
    if (booked === "true" && inUse === "false") return 0;
    if (booked === "false" && inUse === "true") return 1;
    if (booked === "true") return 2;
    if (inUse === "true") return 3;
    if (booked === "false") return 4;
    return 5;
  }
  function text(tr, sel) {
    var t = tr.querySelector(sel);
    return t ? t.textContent : "";
  }
  function orderNow() {
    var body = document.querySelector(".st-now tbody");
    if (!body) return;
    var rows = Array.prototype.slice.call(body.rows);
    var key = function (tr) { return [rank(tr), text(tr, ".st-location"), text(tr, ".st-name")]; };
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      for (var i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
      return 0;
    });
    rows.forEach(function (tr) { body.appendChild(tr); });
    var count = function (f) { return rows.filter(f).length; };
    var on = function (tr) { return tr.className === "online"; };
    set(document, ".st-now-summary", rows.length + " rooms: " +
      count(function (tr) { return on(tr) && tr.dataset.inUse === "true"; }) + " in use, " +
      count(function (tr) { return on(tr) && tr.dataset.booked === "true"; }) + " booked, " +
      count(function (tr) { return on(tr) && tr.dataset.booked === "true" && tr.dataset.inUse === "false"; }) + " booked but not in use, " +
      count(function (tr) { return on(tr) && tr.dataset.booked === "false"; }) + " free");
  }
  function paintCard(c) {
    paintNow(c);
    var el = document.getElementById("card-" + c.key);
    if (!el) return;
    var day = el.querySelector(".st-day");
    if (day) { day.textContent = (c.day && c.day.label) || ""; day.dataset.booked = flag(c.day && c.day.booked); }
    el.className = "st-card " + (c.online ? "online" : "offline");
    set(el, ".st-name", c.name);
    set(el, ".st-location", c.location);
    set(el, ".st-state", c.online ? "online" : "offline");
    set(el, ".st-project", c.project_name ? c.project_name + " (rev " + c.project_revision + ")" : "");
    set(el, ".st-lit", c.lit.join(", "));
    set(el, ".st-faults", c.faults.length ? "offline: " + c.faults.join(", ") : "");
    set(el, ".st-alerts", c.alerts ? c.alerts + " alert(s)" : "");
    var seen = el.querySelector(".st-seen");
    if (seen) { seen.dataset.seen = c.last_seen; seen.textContent = ago(c.last_seen); }
    set(el, ".st-problem", c.problem);
  }
  function paintRoom(r) {
    var main = document.querySelector(".st-room");
    set(main, ".st-state", r.card.online ? "online" : "offline");
    Object.keys(r.buttons).forEach(function (id) {
      var led = r.buttons[id].led;
      document.querySelectorAll('.st-button[data-button="' + CSS.escape(id) + '"]').forEach(function (b) {
        b.dataset.mode = led.mode;
        b.dataset.color = led.color;
      });
    });
    Object.keys(r.levels || {}).forEach(function (id) {
      document.querySelectorAll('.st-level[data-level="' + CSS.escape(id) + '"] b').forEach(function (b) {
        b.textContent = String(r.levels[id].value);
      });
    });
  }
  function send(room, button, action) {
    var body = new URLSearchParams({ button: button, action: action });
    fetch("/room/" + room + "/press", { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) r.text().then(function (t) { console.warn("press:", t); }); });
  }
  var grid = document.querySelector(".st-grid") || document.querySelector(".st-now");
  var room = document.querySelector(".st-room");
  var url = null;
  if (grid) url = "/events?keys=" + encodeURIComponent(grid.dataset.keys || "");
  if (room) url = "/events?room=" + encodeURIComponent(room.dataset.room);
  if (url) {
    var es = new EventSource(url);
    es.addEventListener("cards", function (e) { JSON.parse(e.data).forEach(paintCard); orderNow(); });
    es.addEventListener("room", function (e) { paintRoom(JSON.parse(e.data)); });
    es.addEventListener("summary", function (e) {
      var s = JSON.parse(e.data);
      set(document, ".st-summary", s.online + " of " + s.total + " rooms online");
    });
  }
  if (room) {
    room.addEventListener("pointerdown", function (e) {
      var b = e.target.closest(".st-button");
      if (!b || b.disabled) return;
      b.setPointerCapture(e.pointerId);
      send(room.dataset.room, b.dataset.button, "press");
      var up = function () {
        b.removeEventListener("pointerup", up);
        b.removeEventListener("pointercancel", up);
        send(room.dataset.room, b.dataset.button, "release");
      };
      b.addEventListener("pointerup", up);
      b.addEventListener("pointercancel", up);
    });
    // A keyboard (Enter, Space) clicks without a pointer: a tap.
    room.addEventListener("click", function (e) {
      var b = e.target.closest(".st-button");
      if (!b || b.disabled || e.detail !== 0) return;
      send(room.dataset.room, b.dataset.button, "tap");
    });
  }
  setInterval(function () {
    document.querySelectorAll(".st-seen").forEach(function (s) { s.textContent = ago(+s.dataset.seen); });
  }, 5000);
})();
