//! The admin page (`/admin`): the project for installers without an FTP
//! client. Plain HTML forms, so it works before (and without) the wasm
//! loading; the server side is `/admin/api/*` in the server crate
//! (services/admin.rs), backed by the same project store as FTP and the
//! Telnet console. Every action needs an admin login (users from the
//! settings; a session cookie, no default password).

use leptos::prelude::*;

#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <div class="admin-page">
            <h1>"Project administration"</h1>
            <nav><a rel="external" href="/">"Panel"</a> " · " <a rel="external" href="/status">"Status"</a></nav>

            <section>
                <h2>"Log in"</h2>
                <p>"An admin user of this controller (create one with "
                    <code>"roomctl user add NAME --role admin"</code>")."</p>
                <form method="post" action="/login">
                    <input type="hidden" name="next" value="/admin"/>
                    <label>"User " <input name="user" autocomplete="username" required/></label>
                    " "
                    <label>"Password " <input name="password" type="password" autocomplete="current-password" required/></label>
                    " "
                    <button type="submit">"Log in"</button>
                </form>
                <form method="post" action="/logout">
                    <button type="submit">"Log out"</button>
                </form>
            </section>

            <section>
                <h2>"Projects"</h2>
                <p><a rel="external" href="/admin/api/info">"What runs, what is stored"</a></p>
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
                <form method="post" action="/admin/api/upload" enctype="multipart/form-data">
                    <input type="file" name="project" accept=".toml,text/plain" required/>
                    " "
                    <button type="submit">"Upload"</button>
                </form>
            </section>

            <section>
                <h2>"Apply"</h2>
                <form method="post" action="/admin/api/validate">
                    <button type="submit">"Validate the uploaded project"</button>
                </form>
                <form method="post" action="/admin/api/apply">
                    <button type="submit">"Apply the uploaded project"</button>
                </form>
                <form method="post" action="/admin/api/rollback">
                    <button type="submit">"Roll back to the previous project"</button>
                </form>
                <p>"Applying replaces the running project at once on every panel, central-control client and keypad; the project it replaces is kept for roll-back."</p>
            </section>
        </div>
    }
}
