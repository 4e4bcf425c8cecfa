// Starts the real roomctl binary on free loopback ports with its own settings
// file, so each test talks to a controller exactly as a panel does.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "..", "..");

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export class Controller {
  panelPort = 0;
  apprimoPort = 0;
  httpsPort = 0;
  private dir = "";
  private proc: ChildProcess | null = null;
  output = "";

  /** Adds a user to this controller's settings (before start). */
  addUser(name: string, role: string, password: string) {
    const bin = process.env.ROOMCTL_BIN ?? path.join(repoRoot, "target", "release", "roomctl");
    const r = spawnSync(bin, ["--config", path.join(this.dir, "roomctl.toml"), "user", "add", name, "--role", role, "--password-stdin"], {
      input: password + "\n",
      cwd: repoRoot,
    });
    if (r.status !== 0) throw new Error(`user add failed: ${r.stderr}`);
  }

  static async create(extraSettings = "", beforeStart?: (c: Controller) => void): Promise<Controller> {
    const c = new Controller();
    c.panelPort = await freePort();
    c.apprimoPort = await freePort();
    c.httpsPort = await freePort();
    c.dir = fs.mkdtempSync(path.join(os.tmpdir(), "roomctl-e2e-"));
    // Only the two HTTP ports and HTTPS: the LAN services are tested by cargo tests.
    const settings = `
[panel]
port = ${c.panelPort}
keepalive_secs = 2

[apprimo]
port = ${c.apprimoPort}

[https]
port = ${c.httpsPort}

[project]
dir = "${c.dir.replace(/\\/g, "/")}/project"

[lookup]
enabled = false
[live]
enabled = false
[central]
enabled = false
[extension]
enabled = false
[telnet]
enabled = false
[ftp]
enabled = false

${extraSettings}
`;
    fs.writeFileSync(path.join(c.dir, "roomctl.toml"), settings);
    beforeStart?.(c);
    await c.start();
    return c;
  }

  url(p = "/"): string {
    return `http://127.0.0.1:${this.panelPort}${p}`;
  }

  /** The same pages over HTTPS (the certificate generated at first start). */
  httpsUrl(p = "/"): string {
    return `https://127.0.0.1:${this.httpsPort}${p}`;
  }

  wallUrl(p = "/"): string {
    return `http://127.0.0.1:${this.apprimoPort}${p}`;
  }

  async start(): Promise<void> {
    const bin = process.env.ROOMCTL_BIN ?? path.join(repoRoot, "target", "release", "roomctl");
    const settingsFile = path.join(this.dir, "roomctl.toml");
    this.proc = spawn(bin, ["--config", settingsFile, "serve", "--demo"], {
      cwd: repoRoot,
      env: { ...process.env, LEPTOS_SITE_ROOT: process.env.LEPTOS_SITE_ROOT ?? path.join(repoRoot, "target", "site") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc.stdout?.on("data", (d) => (this.output += d.toString()));
    this.proc.stderr?.on("data", (d) => (this.output += d.toString()));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`roomctl exited early:\n${this.output}`);
      try {
        const r = await fetch(this.url("/healthz"));
        if (r.ok) return;
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`roomctl did not start:\n${this.output}`);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    await exited;
    this.proc = null;
  }

  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
