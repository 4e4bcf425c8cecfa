//! The admin page (`/admin`): the project for installers without an FTP
//! client. Every action needs an admin login (users from the settings; a
//! session cookie, no default password); the server side is `/admin/api/*`
//! (server/src/services/http/admin.rs), backed by the same project store as
//! FTP and the Telnet console.
//!
//! The page is plain HTML forms, so it works before and without scripts
//! (each form then answers with a styled result page). `public/admin.js`
//! upgrades it: results and errors shown in the page, an upload progress
//! bar, who is logged in, and the project history with diff and restore.
//! That script is a few KiB of plain JavaScript loaded by this page only,
//! so the panel's wasm does not grow. It fills only the elements that are
//! empty here (`#admin-user`, `#admin-result`, `#history-rows`, `#diff`,
//! `#user-rows`: each user with role, password reset and remove) and
//! sets attributes, so it never disturbs hydration.

use leptos::prelude::*;

#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <main class="admin-page">
            <header class="admin-head">
                <h1>"Project administration"</h1>
                <nav><a rel="external" href="/">"Panel"</a> " · " <a rel="external" href="/status">"Status"</a></nav>
                <div class="admin-session">
                    <span>"Logged in as " <strong id="admin-user"></strong></span>
                    <form method="post" action="/logout">
                        <button type="submit">"Log out"</button>
                    </form>
                </div>
            </header>

            <div id="admin-result" class="admin-result" role="status" aria-live="polite"></div>

            <section class="admin-login">
                <h2>"Log in"</h2>
                <p>"An admin user of this controller (create one with "
                    <code>"roomctl user add NAME --role admin"</code>")."</p>
                <form method="post" action="/login">
                    <input type="hidden" name="next" value="/admin"/>
                    <label>"User " <input name="user" autocomplete="username" required/></label>
                    <label>"Password " <input name="password" type="password" autocomplete="current-password" required/></label>
                    <button type="submit">"Log in"</button>
                </form>
            </section>

            <section>
                <h2>"Projects"</h2>
                <p><a rel="external" href="/admin/api/info" data-show="info">"What runs, what is stored"</a></p>
                <p>
                    "Download: "
                    <a rel="external" href="/admin/api/project/active">"active"</a> " · "
                    <a rel="external" href="/admin/api/project/previous">"previous"</a> " · "
                    <a rel="external" href="/admin/api/project/pending">"uploaded (not applied)"</a>
                </p>
            </section>

            <section>
                <h2>"Upload a project"</h2>
                <p>"The file is checked first; an invalid project is refused with each error's line and field, and nothing changes."</p>
                <form id="upload-form" method="post" action="/admin/api/upload" enctype="multipart/form-data">
                    <label>"Project file " <input type="file" name="project" accept=".toml,text/plain" required/></label>
                    <progress id="upload-progress" max="100" value="0" hidden=true aria-label="Upload progress"></progress>
                    <button type="submit">"Upload"</button>
                </form>
            </section>

            <section>
                <h2>"Apply"</h2>
                <div class="admin-actions">
                    <form method="post" action="/admin/api/validate">
                        <button type="submit">"Validate the uploaded project"</button>
                    </form>
                    <form method="post" action="/admin/api/apply">
                        <button type="submit">"Apply the uploaded project"</button>
                    </form>
                    <form method="post" action="/admin/api/rollback">
                        <button type="submit">"Roll back to the previous project"</button>
                    </form>
                </div>
                <p>"Applying replaces the running project at once on every panel, central-control client and keypad; the project it replaces is kept for roll-back and in the history."</p>
            </section>

            <section>
                <h2>"History"</h2>
                <p>"Every applied project, newest first. Pick two to compare (or one against the running project); restoring one makes it the uploaded project, to check and apply."</p>
                <table class="history">
                    <thead>
                        <tr>
                            <th scope="col">"#"</th>
                            <th scope="col">"When"</th>
                            <th scope="col">"What"</th>
                            <th scope="col">"Who"</th>
                            <th scope="col">"Project"</th>
                            <th scope="col">"Compare"</th>
                            <th scope="col">"Restore"</th>
                        </tr>
                    </thead>
                    <tbody id="history-rows"></tbody>
                </table>
                <p><a rel="external" href="/admin/api/history">"The history as text"</a></p>
                <div id="diff" class="diff"></div>
            </section>
            <section class="admin-users">
                <h2>"Users"</h2>
                <p>"Who may log in, on every service (panels that need a login, this page, central control, Telnet, FTP). A change holds at once, is written to the audit trail, and logs the user out; the last admin cannot be removed or demoted."</p>
                <table class="users">
                    <thead>
                        <tr>
                            <th scope="col">"User"</th>
                            <th scope="col">"Role"</th>
                            <th scope="col">"Password"</th>
                            <th scope="col">"Remove"</th>
                        </tr>
                    </thead>
                    <tbody id="user-rows"></tbody>
                </table>
                <p><a rel="external" href="/admin/api/users">"The users as text"</a></p>
                <h3>"Add a user"</h3>
                <form id="user-add" method="post" action="/admin/api/users">
                    <label>"Name " <input name="name" autocomplete="off" required=true maxlength="64" pattern="[A-Za-z0-9_.\\-]+" title="Letters, digits, '_', '-' or '.'"/></label>
                    <label>"Role "
                        <select name="role">
                            <option value="viewer">"viewer: sees the status"</option>
                            <option value="operator" selected=true>"operator: presses buttons"</option>
                            <option value="admin">"admin: project, settings and users"</option>
                        </select>
                    </label>
                    <label>"Their password " <input name="password" type="password" autocomplete="new-password" minlength="8" required=true/></label>
                    <button type="submit">"Add user"</button>
                </form>
            </section>
            <script src="/admin.js" defer=true></script>
        </main>
    }
}
