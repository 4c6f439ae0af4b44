/**
 * Starts a real Docker daemon for a test: containerd and dockerd (Debian's docker.io, 20.10) with every
 * path in a fresh temporary folder (never the system's /var/run/docker.sock), no networking (vfs storage,
 * no bridge, no iptables; containers run only with `--network none`), loopback registries insecure.
 * Both run in their own process group, stopped by `stop()` or when the test process exits. `docker()`
 * runs the docker CLI (/usr/local/bin/docker, or DOCKER_CLI) against it, with its own DOCKER_CONFIG.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const DOCKER_CLI = process.env.DOCKER_CLI ?? (existsSync("/usr/local/bin/docker") ? "/usr/local/bin/docker" : "docker");

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DockerCli {
  /** DOCKER_HOST the CLI talks to ("unix:///.../docker.sock"). */
  host: string;
  /** The CLI's own config folder (credentials from `docker login`). */
  configDir: string;
  /** Run the docker CLI; never throws on a non-zero exit. */
  docker(args: string[], opts?: { input?: string; timeoutMs?: number; host?: string }): Promise<DockerResult>;
}

export interface Dockerd extends DockerCli {
  /** unix socket path of the daemon */
  socket: string;
  dir: string;
  log: () => string;
  stop: () => Promise<void>;
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of running) if (p.pid) try { process.kill(-p.pid, "SIGKILL"); } catch {}
});

/** A docker CLI bound to `host` with a config folder of its own. */
export function dockerCli(host: string, configDir = mkdtempSync(join(tmpdir(), "wharf-docker-cfg-"))): DockerCli {
  return {
    host,
    configDir,
    docker: (args, opts = {}) => new Promise((resolve) => {
      const child = execFile(DOCKER_CLI, args, {
        env: { ...process.env, DOCKER_HOST: opts.host ?? host, DOCKER_CONFIG: configDir, DOCKER_CLI_HINTS: "false" },
        timeout: opts.timeoutMs ?? 180_000,
        maxBuffer: 64 << 20,
      }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
      // stdin always ends: the CLI asks for a login on stdin when a registry refuses it.
      child.stdin!.end(opts.input ?? "");
    }),
  };
}

function spawnGroup(cmd: string, args: string[], out: { text: string }): ChildProcess {
  const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
  running.add(p);
  p.stdout!.on("data", (d) => (out.text += d));
  p.stderr!.on("data", (d) => (out.text += d));
  return p;
}

async function waitFor(what: string, ok: () => Promise<boolean>, procs: ChildProcess[], log: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const p of procs) if (p.exitCode !== null) throw new Error(`${what}: a process exited early:\n${log()}`);
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not become ready:\n${log()}`);
}

async function stopGroup(p: ChildProcess): Promise<void> {
  if (!p.pid || p.exitCode !== null) return void running.delete(p);
  const exited = new Promise((r) => p.once("exit", r));
  try { process.kill(-p.pid, "SIGTERM"); } catch {}
  const t = setTimeout(() => { try { process.kill(-p.pid!, "SIGKILL"); } catch {} }, 10_000);
  await exited;
  clearTimeout(t);
  running.delete(p);
}

/** Start containerd + dockerd in a temporary folder; `extraArgs` go to dockerd. */
export async function startDockerd(opts: { extraArgs?: string[] } = {}): Promise<Dockerd> {
  // Short paths: unix socket paths are limited to 108 bytes.
  const dir = mkdtempSync(join("/tmp", "dkd-"));
  for (const d of ["cr", "cs", "data", "exec"]) mkdirSync(join(dir, d));
  const out = { text: "" };
  const ctrSock = join(dir, "ctr.sock");
  const socket = join(dir, "docker.sock");
  const containerd = spawnGroup("containerd", ["--root", join(dir, "cr"), "--state", join(dir, "cs"), "--address", ctrSock], out);
  await waitFor("containerd", async () => existsSync(ctrSock), [containerd], () => out.text);
  const dockerd = spawnGroup("dockerd", [
    "--containerd", ctrSock, "--data-root", join(dir, "data"), "--exec-root", join(dir, "exec"),
    "--pidfile", join(dir, "docker.pid"), "-H", `unix://${socket}`, "--storage-driver", "vfs",
    "--iptables=false", "--ip-masq=false", "--bridge=none", "--insecure-registry", "127.0.0.0/8",
    ...(opts.extraArgs ?? []),
  ], out);
  const cli = dockerCli(`unix://${socket}`);
  await waitFor("dockerd", async () => existsSync(socket) && (await cli.docker(["version", "--format", "{{.Server.Version}}"], { timeoutMs: 10_000 })).code === 0, [containerd, dockerd], () => out.text);
  return {
    ...cli,
    socket,
    dir,
    log: () => out.text,
    stop: async () => {
      await stopGroup(dockerd);
      await stopGroup(containerd);
      rmSync(dir, { recursive: true, force: true });
      rmSync(cli.configDir, { recursive: true, force: true });
    },
  };
}
