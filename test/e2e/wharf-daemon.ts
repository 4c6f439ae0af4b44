/**
 * Starts the real `wharf daemon` (bin/wharf.mjs daemon ..., as `npx wharf daemon` does) in its own
 * process group, listening on a unix socket in a temporary folder, and stops it (SIGTERM, then SIGKILL).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { request } from "node:http";
import { stopGroup } from "./process-group";

const BIN = resolve(__dirname, "..", "..", "bin", "wharf.mjs");

export interface WharfDaemon {
  socket: string;
  /** DOCKER_HOST for the docker CLI */
  host: string;
  dir: string;
  log: () => string;
  /** Exit code after SIGTERM. */
  stop: () => Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of running) if (p.pid) try { process.kill(-p.pid, "SIGKILL"); } catch {}
});

export function ping(socket: string): Promise<number> {
  return new Promise((resolve) => {
    const r = request({ socketPath: socket, path: "/_ping", method: "GET" }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    r.on("error", () => resolve(0));
    r.end();
  });
}

/** `args` are the daemon's options besides -H (e.g. ["--data-root", dir] or ["--forward", "unix://..."]). */
export async function startDaemon(args: string[], env: Record<string, string> = {}): Promise<WharfDaemon> {
  const dir = mkdtempSync(join("/tmp", "wd-"));
  const socket = join(dir, "wharf.sock");
  let out = "";
  const p = spawn(process.execPath, [BIN, "daemon", "-H", `unix://${socket}`, ...args], {
    env: { ...process.env, WHARF_CACHE_DIR: join(dir, "cache"), ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  running.add(p);
  p.stdout!.on("data", (d) => (out += d));
  p.stderr!.on("data", (d) => (out += d));
  const deadline = Date.now() + 30_000;
  while (!(existsSync(socket) && (await ping(socket)) === 200)) {
    if (p.exitCode !== null) throw new Error(`wharf daemon exited early (${p.exitCode}):\n${out}`);
    if (Date.now() > deadline) throw new Error(`wharf daemon did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    socket,
    host: `unix://${socket}`,
    dir,
    log: () => out,
    stop: async () => {
      await stopGroup(p, 20_000);
      running.delete(p);
      rmSync(dir, { recursive: true, force: true });
      return p.exitCode;
    },
  };
}
