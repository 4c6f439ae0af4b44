/**
 * Starts the real local registry (`node scripts/start.mjs`, i.e. `npm start`) on a free loopback port
 * with its own temporary data folder, and stops it (the whole process group) when asked or when the
 * test process exits.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stopGroup } from "./process-group";

const ROOT = resolve(__dirname, "..", "..");

export interface Wharf {
  port: number;
  host: string; // "127.0.0.1:<port>"
  url: string; // "http://127.0.0.1:<port>"
  dataDir: string;
  log: () => string;
  stop: () => Promise<void>;
  /** Stop and start again on the same port and data folder. */
  restart: () => Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const p = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => res(p));
    });
  });
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of running) if (p.pid) try { process.kill(-p.pid, "SIGKILL"); } catch {}
});

async function waitReady(url: string, proc: ChildProcess, log: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`wharf exited early:\n${log()}`);
    try {
      const r = await fetch(`${url}/v2/`);
      if (r.status === 200 || r.status === 401) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`wharf did not become ready:\n${log()}`);
}

export async function startWharf(env: Record<string, string> = {}, opts: { dataDir?: string; port?: number } = {}): Promise<Wharf> {
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "wharf-e2e-"));
  const url = `http://127.0.0.1:${port}`;
  let output = "";
  let proc: ChildProcess;

  const launch = async () => {
    proc = spawn(process.execPath, [join(ROOT, "scripts", "start.mjs")], {
      cwd: ROOT,
      // Its own dev registry folder: the default (~/.config/.wrangler/registry) is shared by every
      // `wrangler dev` on the machine, and the servers other tests start and stop there are news to
      // every wrangler watching it (scripts/bench/lib/servers.mjs saw 503s in flight from that).
      env: { ...process.env, ...env, PORT: String(port), WHARF_DATA: dataDir, WRANGLER_SEND_METRICS: "false", WRANGLER_REGISTRY_PATH: join(dataDir, "wrangler-registry") },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    running.add(proc);
    proc.stdout!.on("data", (d) => (output += d));
    proc.stderr!.on("data", (d) => (output += d));
    await waitReady(url, proc, () => output);
  };

  const halt = async () => {
    if (!proc) return;
    await stopGroup(proc, 5000);
    running.delete(proc);
  };

  await launch();
  return {
    port,
    host: `127.0.0.1:${port}`,
    url,
    dataDir,
    log: () => output,
    restart: async () => {
      await halt();
      await launch();
    },
    stop: async () => {
      await halt();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
