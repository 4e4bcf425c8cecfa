// The admin page's script (app/src/admin.rs): results in the page, upload
// progress, who is logged in, the project history with diff and restore,
// and the users (add, role, password reset, remove). Plain JavaScript loaded by /admin only, so the panel's wasm does
// not carry it. Every request asks for JSON; the server's words are shown
// as they come (they are written for people).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const result = $("admin-result");

  function show(ok, title, text) {
    result.replaceChildren();
    result.className = "admin-result " + (ok ? "ok" : "error");
    const h = document.createElement("h2");
    h.textContent = title;
    const pre = document.createElement("pre");
    pre.textContent = text;
    result.append(h, pre);
    result.scrollIntoView({ block: "nearest" });
  }

  async function call(method, url, body) {
    let response;
    try {
      response = await fetch(url, {
        method,
        body,
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
    } catch (e) {
      return { status: 0, body: { ok: false, title: "No answer", text: "The controller did not answer; check the network and try again." } };
    }
    let json;
    try {
      json = await response.json();
    } catch (e) {
      json = { ok: false, title: "Unexpected answer", text: "The controller answered with status " + response.status + "." };
    }
    if (response.status === 401) setUser(null);
    return { status: response.status, body: json };
  }

  function setUser(user) {
    document.body.dataset.admin = user ? "in" : "out";
    $("admin-user").textContent = user || "";
  }

  // Forms: validate, apply, rollback (and any other without a file).
  for (const form of document.querySelectorAll(".admin-page form")) {
    const action = form.getAttribute("action");
    if (!action.startsWith("/admin/api/") || form.id === "upload-form" || form.id === "user-add") continue;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const r = await call("POST", action);
      show(r.body.ok, r.body.title, r.body.text);
      loadHistory();
    });
  }

  // Upload with progress: XMLHttpRequest reports upload progress, fetch
  // does not.
  const upload = $("upload-form");
  upload.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const progress = $("upload-progress");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", upload.getAttribute("action"));
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) progress.value = Math.round((100 * e.loaded) / e.total);
    });
    xhr.addEventListener("load", () => {
      progress.hidden = true;
      let body;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (e) {
        body = { ok: false, title: "Upload refused", text: "The controller answered with status " + xhr.status + " (is the file larger than the upload limit?)." };
      }
      if (xhr.status === 401) setUser(null);
      show(body.ok, body.title, body.text);
      loadHistory();
    });
    xhr.addEventListener("error", () => {
      progress.hidden = true;
      show(false, "Upload failed", "The connection broke during the upload; the running project is unchanged.");
    });
    progress.value = 0;
    progress.hidden = false;
    xhr.send(new FormData(upload));
  });

  // "What runs, what is stored" in the page.
  const info = document.querySelector("a[data-show=info]");
  info.addEventListener("click", async (ev) => {
    ev.preventDefault();
    const r = await call("GET", info.getAttribute("href"));
    show(r.body.ok, r.body.title, r.body.text);
  });

  function cell(row, content) {
    const td = document.createElement("td");
    if (content instanceof Node) td.append(content);
    else td.textContent = content;
    row.append(td);
    return td;
  }

  function radio(name, value, label, checked) {
    const l = document.createElement("label");
    const i = document.createElement("input");
    i.type = "radio";
    i.name = name;
    i.value = value;
    i.checked = checked;
    l.append(i, " " + label);
    return l;
  }

  async function loadHistory() {
    const rows = $("history-rows");
    const r = await call("GET", "/admin/api/history");
    if (!Array.isArray(r.body)) {
      rows.replaceChildren();
      return;
    }
    const trs = r.body.map((e, i) => {
      const tr = document.createElement("tr");
      tr.dataset.id = e.id;
      cell(tr, "#" + e.id);
      cell(tr, new Date(e.time * 1000).toLocaleString());
      cell(tr, e.action + " via " + e.via);
      cell(tr, e.user);
      cell(tr, '"' + e.name + '" revision ' + e.revision);
      const pick = document.createElement("span");
      pick.append(radio("diff-from", e.id, "from", i === 1), " ", radio("diff-to", e.id, "to", i === 0));
      cell(tr, pick);
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "Restore #" + e.id;
      b.addEventListener("click", async () => {
        const r = await call("POST", "/admin/api/restore/" + e.id);
        show(r.body.ok, r.body.title, r.body.text);
      });
      cell(tr, b);
      return tr;
    });
    if (trs.length > 0) {
      const tr = document.createElement("tr");
      cell(tr, "");
      cell(tr, "now");
      cell(tr, "running");
      cell(tr, "");
      cell(tr, "the running project");
      cell(tr, radio("diff-to", "running", "to", false));
      cell(tr, "");
      trs.unshift(tr);
      const compare = document.createElement("button");
      compare.type = "button";
      compare.id = "compare";
      compare.textContent = "Compare";
      compare.addEventListener("click", compareSelected);
      const last = document.createElement("tr");
      const td = cell(last, compare);
      td.colSpan = 7;
      trs.push(last);
    }
    rows.replaceChildren(...trs);
  }

  async function compareSelected() {
    const from = document.querySelector("input[name=diff-from]:checked");
    const to = document.querySelector("input[name=diff-to]:checked");
    if (!from || !to) {
      show(false, "Pick two", "Pick a version to compare from and one to compare to.");
      return;
    }
    const url = "/admin/api/diff?from=" + encodeURIComponent(from.value) + "&to=" + encodeURIComponent(to.value);
    const r = await call("GET", url);
    const out = $("diff");
    out.replaceChildren();
    if (!r.body.unified && r.body.unified !== "") {
      show(false, r.body.title, r.body.text);
      return;
    }
    const h = document.createElement("h3");
    h.textContent = "From " + r.body.from + " to " + r.body.to;
    const ul = document.createElement("ul");
    ul.className = "changes";
    for (const c of r.body.changes.length ? r.body.changes : ["no changes in meaning"]) {
      const li = document.createElement("li");
      li.textContent = c;
      ul.append(li);
    }
    const pre = document.createElement("pre");
    pre.className = "unified";
    for (const line of r.body.unified.split("\n")) {
      const span = document.createElement("span");
      if (line.startsWith("+") && !line.startsWith("+++")) span.className = "add";
      else if (line.startsWith("-") && !line.startsWith("---")) span.className = "del";
      else if (line.startsWith("@@")) span.className = "hunk";
      span.textContent = line + "\n";
      pre.append(span);
    }
    out.append(h, ul, pre);
  }

  // Users: one row each (role, password reset, remove), and the add form.
  function button(text, label, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.setAttribute("aria-label", label);
    b.addEventListener("click", onClick);
    return b;
  }

  async function change(url, fields) {
    const r = await call("POST", url, new URLSearchParams(fields));
    show(r.body.ok, r.body.title, r.body.text);
    loadUsers();
    return r.body.ok;
  }

  async function loadUsers() {
    const rows = $("user-rows");
    const r = await call("GET", "/admin/api/users");
    if (!Array.isArray(r.body)) {
      rows.replaceChildren();
      return;
    }
    rows.replaceChildren(
      ...r.body.map((u) => {
        const tr = document.createElement("tr");
        tr.dataset.user = u.name;
        const base = "/admin/api/users/" + encodeURIComponent(u.name);
        const name = document.createElement("th");
        name.scope = "row";
        name.textContent = u.name + (u.you ? " (you)" : "");
        tr.append(name);
        const role = document.createElement("select");
        role.setAttribute("aria-label", "Role of " + u.name);
        for (const r of ["viewer", "operator", "admin"]) {
          const o = document.createElement("option");
          o.value = r;
          o.textContent = r;
          o.selected = r === u.role;
          role.append(o);
        }
        const roleCell = cell(tr, role);
        roleCell.append(" ", button("Save role", "Save role of " + u.name, () => change(base + "/role", { role: role.value })));
        const password = document.createElement("input");
        password.type = "password";
        password.autocomplete = "new-password";
        password.minLength = 8;
        password.setAttribute("aria-label", "New password for " + u.name);
        const pwCell = cell(tr, password);
        pwCell.append(
          " ",
          button("Reset password", "Reset password of " + u.name, async () => {
            if (await change(base + "/password", { password: password.value })) password.value = "";
          }),
        );
        cell(tr, button("Remove", "Remove " + u.name, () => {
          if (window.confirm("Remove " + u.name + "? They can no longer log in.")) change(base + "/remove", {});
        }));
        return tr;
      }),
    );
  }

  const addUser = $("user-add");
  addUser.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (await change(addUser.getAttribute("action"), new FormData(addUser))) addUser.reset();
  });

  call("GET", "/admin/api/whoami").then((r) => {
    setUser(r.status === 200 ? r.body.user : null);
    if (r.status === 200) {
      loadHistory();
      loadUsers();
    }
  });
})();
