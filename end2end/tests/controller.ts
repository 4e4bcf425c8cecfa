// Starts the real roomctl binary on free loopback ports with its own settings
// file, so each test talks to a controller exactly as a panel does.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "..", "..");

/** Ports handed out by this process, never handed out twice. */
const handedOut = new Set<number>();

/** Whether `port` can be listened on at 127.0.0.1 right now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for a child process
 * that must be told its port up front. Chosen below Linux's ephemeral range
 * (32768-60999): a port the kernel handed out as listen(0) would be handed
 * out again as the source port of some outgoing connection (a controller's
 * to its devices, the station's to a room) before the child binds it.
 */
async function freePort(): Promise<number> {
  for (let tries = 0; tries < 1000; tries++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error("no free port between 20000 and 32000 on 127.0.0.1");
}

export interface ControllerOptions {
  /** The controller's name (and a serial made from it). */
  name?: string;
  /** Central control (TCP 5009 protocol) on a free loopback port. */
  central?: boolean;
  /** Runs this project text (`serve --project`) instead of the built-in demo. */
  project?: string;
  /** A fresh installation: plain `serve` with nothing stored (the demo runs
   * because there is no project, not because `--demo` asked for it). */
  fresh?: boolean;
  /** The demo's devices: by default the demo runs against `roomctl simulate`
   * on free loopback ports, so every key reaches a device as in
   * scripts/demo.sh; `false` leaves them unreachable (shown as down). */
  devices?: boolean;
}

/** Where a demo's devices listen: the built-in demo's five (its lights and
 * screen on the matrix's port when not given) or the raw-device demo's three. */
export interface DevicePorts {
  projector: number;
  matrix: number;
  dsp: number;
  lights?: number;
  screen?: number;
}

/** A demo project (the built-in one, whose devices are library drivers; or
 * `rawDemoProject()`) with its devices on these loopback ports. */
export function demoOn(ports: DevicePorts, edit = (t: string) => t, base = demoProject()) {
  // All five at once: replacing one after the other would rewrite a port
  // just written (the matrix on 43543, then "127.0.0.1:4354" of it as the DSP's).
  const port: Record<string, number> = {
    "4352": ports.projector,
    "4353": ports.matrix,
    "4354": ports.dsp,
    "4355": ports.lights ?? ports.matrix,
    "4356": ports.screen ?? ports.matrix,
  };
  return edit(base.replace(/127\.0\.0\.1:(435[2-6])\b/g, (_, p: string) => `127.0.0.1:${port[p]}`));
}

function roomctlBin(): string {
  return process.env.ROOMCTL_BIN ?? path.join(repoRoot, "target", "release", "roomctl");
}

/** Adds a user to the settings file `settings` with roomctl's own command. */
function addUserTo(settings: string, name: string, role: string, password: string) {
  const r = spawnSync(roomctlBin(), ["--config", settings, "user", "add", name, "--role", role, "--password-stdin"], {
    input: password + "\n",
    cwd: repoRoot,
  });
  if (r.status !== 0) throw new Error(`user add failed: ${r.stderr}`);
}

/** Polls `url` until it answers (any status) or `proc` exits. */
async function waitForHttp(url: string, proc: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`roomctl exited early:\n${output()}`);
    try {
      await fetch(url, { redirect: "manual" });
      return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`roomctl did not start:\n${output()}`);
}

export class Controller {
  panelPort = 0;
  apprimoPort = 0;
  httpsPort = 0;
  centralPort = 0;
  private dir = "";
  private proc: ChildProcess | null = null;
  output = "";

  /** Adds a user to this controller's settings (before start). */
  addUser(name: string, role: string, password: string) {
    addUserTo(path.join(this.dir, "roomctl.toml"), name, role, password);
  }

  /** Runs this project text (`serve --project`) instead of the built-in demo. */
  project: string | null = null;
  /** Plain `serve`: what the project store holds, else the demo. */
  fresh = false;
  /** The demo's simulated devices, when the demo runs against them. */
  simulator: Simulator | null = null;
  /** Where the demo's simulated devices listen (loopback ports). */
  devicePorts: DevicePorts | null = null;

  static async create(
    extraSettings = "",
    beforeStart?: (c: Controller) => void,
    options: ControllerOptions = {},
  ): Promise<Controller> {
    const c = new Controller();
    c.project = options.project ?? null;
    c.fresh = options.fresh ?? false;
    if (!c.fresh && c.project === null && options.devices !== false) {
      // The simulated devices of the demo's library drivers, as scripts/demo.sh starts them.
      const ports = {
        projector: await freePort(),
        matrix: await freePort(),
        dsp: await freePort(),
        lights: await freePort(),
        screen: await freePort(),
      };
      c.simulator = await Simulator.start([
        "--driver", "pjlink", "--listen", `127.0.0.1:${ports.projector}`,
        "--driver", "kramer-p3000", "--listen", `127.0.0.1:${ports.matrix}`,
        "--driver", "biamp-tesira", "--listen", `127.0.0.1:${ports.dsp}`,
        "--driver", "lutron-integration", "--listen", `127.0.0.1:${ports.lights}`,
        "--driver", "lutron-shade", "--listen", `127.0.0.1:${ports.screen}`,
      ]);
      c.project = demoOn(ports);
      c.devicePorts = ports;
    }
    c.panelPort = await freePort();
    c.apprimoPort = await freePort();
    c.httpsPort = await freePort();
    if (options.central) c.centralPort = await freePort();
    const identity = options.name
      ? `[identity]\nname = "${options.name}"\nserial = "RC-E2E-${options.name.replace(/\W+/g, "-")}"\n`
      : "";
    const central = options.central ? `enabled = true\nport = ${c.centralPort}` : "enabled = false";
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
${central}
[extension]
enabled = false
[telnet]
enabled = false
[ftp]
enabled = false
${identity}
${extraSettings}
`;
    fs.writeFileSync(path.join(c.dir, "roomctl.toml"), settings);
    try {
      beforeStart?.(c);
      await c.start();
    } catch (e) {
      // Nothing outlives a failed start: the simulated devices, the folder.
      await c.dispose();
      throw e;
    }
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

  /** The central-control address, for a station's room list. */
  centralAddress(): string {
    return `127.0.0.1:${this.centralPort}`;
  }

  async start(): Promise<void> {
    const bin = roomctlBin();
    const settingsFile = path.join(this.dir, "roomctl.toml");
    let serve = this.fresh ? ["serve"] : ["serve", "--demo"];
    if (this.project !== null) {
      const file = path.join(this.dir, "test-project.toml");
      fs.writeFileSync(file, this.project);
      serve = ["serve", "--project", file];
    }
    this.proc = spawn(bin, ["--config", settingsFile, ...serve], {
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
        // Up when /healthz answers: 200 ok, or 503 degraded (the demo's
        // devices are not running in most tests).
        const r = await fetch(this.url("/healthz"));
        if (r.ok || r.status === 503) return;
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
    await this.simulator?.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `roomctl station` on a free loopback port, watching `rooms` (their
 * central-control ports) with the account `account`/`password`, which each
 * room must have. Its web users are added with `addUser` before `start`. */
export class Station {
  port = 0;
  private dir = "";
  private proc: ChildProcess | null = null;
  output = "";

  constructor(private password: string) {}

  static async create(rooms: Controller[], account: string, password: string): Promise<Station> {
    const s = new Station(password);
    s.port = await freePort();
    s.dir = fs.mkdtempSync(path.join(os.tmpdir(), "roomctl-e2e-station-"));
    const list = rooms.map((r) => `  { address = "${r.centralAddress()}" },`).join("\n");
    const settings = `
[station]
port = ${s.port}
account = "${account}"
lookup_broadcast = []
offline_after_secs = 2
reconnect_max_secs = 1
database = "${s.dir.replace(/\\/g, "/")}/station.sqlite"
rooms = [
${list}
]
`;
    fs.writeFileSync(path.join(s.dir, "station.toml"), settings);
    return s;
  }

  addUser(name: string, role: string, password: string) {
    addUserTo(path.join(this.dir, "station.toml"), name, role, password);
  }

  url(p = "/"): string {
    return `http://127.0.0.1:${this.port}${p}`;
  }

  async start(): Promise<void> {
    const proc = spawn(roomctlBin(), ["--config", path.join(this.dir, "station.toml"), "station"], {
      cwd: repoRoot,
      env: { ...process.env, ROOMCTL_STATION_PASSWORD: this.password },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc = proc;
    proc.stdout?.on("data", (d) => (this.output += d.toString()));
    proc.stderr?.on("data", (d) => (this.output += d.toString()));
    await waitForHttp(this.url("/login"), proc, () => this.output);
  }

  async dispose(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null) {
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGTERM");
      await exited;
    }
    this.proc = null;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The built-in demo project's text, for tests that change it. */
export function demoProject(): string {
  return fs.readFileSync(path.join(repoRoot, "controller-core", "projects", "demo.toml"), "utf8");
}

/**
 * The demo room as it was before drivers: raw devices (strings and regular
 * expressions) for `roomctl simulate`'s line-protocol projector, matrix and
 * DSP (whose projector warms up and cools down, as the library's PJLink
 * simulator does not). The server tests' raw-device room.
 */
export function rawDemoProject(): string {
  return fs.readFileSync(path.join(repoRoot, "server", "tests", "fixtures", "raw-demo.toml"), "utf8");
}

export { freePort };

/** `roomctl simulate` (the raw-device projector, matrix and DSP, or `--driver ...`) on the given loopback ports. */
export class Simulator {
  private proc: ChildProcess | null = null;
  output = "";

  static async start(args: string[]): Promise<Simulator> {
    const s = new Simulator();
    const bin = process.env.ROOMCTL_BIN ?? path.join(repoRoot, "target", "release", "roomctl");
    s.proc = spawn(bin, ["simulate", ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    s.proc.stdout?.on("data", (d) => (s.output += d.toString()));
    s.proc.stderr?.on("data", (d) => (s.output += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!s.output.includes("Press Ctrl-C")) {
      if (s.proc.exitCode !== null || Date.now() > deadline) throw new Error(`simulate did not start:\n${s.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return s;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    await exited;
  }
}

/**
 * A Biamp Tesira DSP on a loopback port, as the demo's `biamp-tesira` driver
 * talks to it (Tesira Text Protocol: `Level1 set level 1 -20.5` -> `+OK` and
 * the subscription's `! "publishToken":"roomctl_level" "value":-20.500000`;
 * `Mute1 set mute 1 true`; `subscribe ...`), recording every level it is
 * sent, so a test can see what a fader drag reached.
 */
export class RecordingDsp {
  received: number[] = [];
  private server: net.Server | null = null;
  private sockets = new Set<net.Socket>();
  private volume = -30;
  private muted = false;

  static async start(port: number): Promise<RecordingDsp> {
    const d = new RecordingDsp();
    const level = () => `! "publishToken":"roomctl_level" "value":${d.volume.toFixed(6)}\r\n`;
    const mute = () => `! "publishToken":"roomctl_mute" "value":${d.muted}\r\n`;
    d.server = net.createServer((sock) => {
      d.sockets.add(sock);
      sock.on("close", () => d.sockets.delete(sock));
      sock.on("error", () => {});
      let buf = "";
      sock.on("data", (data) => {
        buf += data.toString();
        let i;
        while ((i = buf.search(/[\r\n]/)) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (!line) continue;
          const setLevel = /^\S+ set level \d+ (-?[\d.]+)$/.exec(line);
          const setMute = /^\S+ set mute \d+ (true|false)$/.exec(line);
          if (setLevel) {
            d.volume = Number(setLevel[1]);
            d.received.push(d.volume);
            sock.write("+OK\r\n" + level());
          } else if (setMute) {
            d.muted = setMute[1] === "true";
            sock.write("+OK\r\n" + mute());
          } else if (/^\S+ subscribe level /.test(line)) {
            sock.write("+OK\r\n" + level());
          } else if (/^\S+ subscribe mute /.test(line)) {
            sock.write("+OK\r\n" + mute());
          } else {
            sock.write('-ERR address not found: {"deviceId":0 "classCode":0 "instanceNum":0}\r\n');
          }
        }
      });
    });
    await new Promise<void>((resolve) => d.server!.listen(port, "127.0.0.1", resolve));
    return d;
  }

  /** Goes away as a device that fails: connections cut, port closed. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
  }
}

/**
 * A real CalDAV server for one test: Debian's `radicale` (scripts/setup.sh
 * --e2e), on a free loopback port with its config, users and storage in a
 * temporary directory, as the server tests' support/radicale.rs starts it.
 * `room` owns its calendars; `lobby` may only read them.
 */
export class Radicale {
  port = 0;
  readonly user = "room";
  readonly password = "booking-secret";
  readonly readerPassword = "lobby-secret";
  dir = "";
  private proc: ChildProcess | null = null;
  output = "";

  static async start(): Promise<Radicale> {
    const r = new Radicale();
    r.port = await freePort();
    r.dir = fs.mkdtempSync(path.join(os.tmpdir(), "roomctl-e2e-radicale-"));
    const d = r.dir;
    fs.writeFileSync(path.join(d, "users"), `${r.user}:${r.password}\nlobby:${r.readerPassword}\n`);
    fs.writeFileSync(
      path.join(d, "rights"),
      "[owner]\nuser: .+\ncollection: {user}(/.*)?\npermissions: RrWw\n\n" +
        "[lobby-reads-room]\nuser: lobby\ncollection: room(/.*)?\npermissions: Rr\n\n" +
        "[root]\nuser: .+\ncollection:\npermissions: R\n",
    );
    fs.writeFileSync(
      path.join(d, "config"),
      `[server]\nhosts = 127.0.0.1:${r.port}\n` +
        `[auth]\ntype = htpasswd\nhtpasswd_filename = ${d}/users\nhtpasswd_encryption = plain\ndelay = 0\n` +
        `[rights]\ntype = from_file\nfile = ${d}/rights\n` +
        `[storage]\nfilesystem_folder = ${d}/collections\n[web]\ntype = none\n[logging]\nlevel = warning\n`,
    );
    const proc = spawn("radicale", ["--config", path.join(d, "config")], { stdio: ["ignore", "pipe", "pipe"] });
    r.proc = proc;
    proc.stdout?.on("data", (x) => (r.output += x.toString()));
    proc.stderr?.on("data", (x) => (r.output += x.toString()));
    await waitForHttp(r.url("/"), proc, () => r.output);
    return r;
  }

  url(p: string): string {
    return `http://127.0.0.1:${this.port}${p}`;
  }

  private async request(method: string, p: string, body?: string): Promise<Response> {
    const auth = "Basic " + Buffer.from(`${this.user}:${this.password}`).toString("base64");
    const r = await fetch(this.url(p), {
      method,
      body,
      headers: { authorization: auth, "content-type": "text/calendar" },
    });
    if (!r.ok) throw new Error(`${method} ${p}: ${r.status}`);
    return r;
  }

  async makeCalendar(p: string): Promise<void> {
    await this.request("MKCALENDAR", p);
  }

  async put(p: string, ics: string): Promise<void> {
    await this.request("PUT", p, ics);
  }

  async get(p: string): Promise<string> {
    return (await this.request("GET", p)).text();
  }

  /** A `[calendar]` settings section reading `collection` as `user` (whose
   * password is written to a file in the server's directory). */
  settings(collection: string, user = this.user, extra = ""): string {
    const password = user === this.user ? this.password : this.readerPassword;
    const file = path.join(this.dir, `${user}-password`);
    fs.writeFileSync(file, password + "\n", { mode: 0o600 });
    return `
[calendar]
enabled = true
source = "caldav"
url = "${this.url(collection)}"
username = "${user}"
password_file = "${file}"
time_zone = "UTC"
poll_secs = 10
cache_file = "${this.dir}/${user}-calendar.json"
${extra}
`;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null) {
      const exited = new Promise((res) => p.once("exit", res));
      p.kill("SIGTERM");
      await exited;
    }
    this.proc = null;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One event resource (times in UTC). */
export function icsEvent(uid: string, title: string, start: Date, end: Date, organizer = "Ada Lovelace"): string {
  const f = (d: Date) => d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//roomctl//e2e//EN\r\nBEGIN:VEVENT\r\n" +
    `UID:${uid}\r\nDTSTAMP:${f(start)}\r\nDTSTART:${f(start)}\r\nDTEND:${f(end)}\r\nSUMMARY:${title}\r\n` +
    `ORGANIZER;CN=${organizer}:mailto:organizer@roomctl.test\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`
  );
}
