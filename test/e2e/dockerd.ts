/**
 * A real Docker Engine (dockerd 20.10 on containerd) for end-to-end tests, started in a temporary folder and
 * stopped at the end: `const d = await startDockerd(); await d.docker(["pull", ...]); await d.stop();`.
 *
 * Everything the daemon writes (containerd root and state, dockerd data-root, exec-root, pidfile and both
 * sockets) lives under one mktemp folder with a short path (unix socket paths are limited to 108 bytes);
 * the default /var/run/docker.sock is never touched. No networking: no bridge, no iptables, so containers
 * run only with `--network none`. Registries on 127.0.0.0/8 are insecure (plain HTTP), so dockerd pushes
 * to and pulls from a Wharf on a loopback port. Each daemon runs in its own process group, killed by
 * `stop()` and, should a test crash, when the test process exits.
 *
 * Needs root and the `dockerd`/`containerd` binaries (Debian packages docker.io, containerd) and the
 * docker CLI; a missing tool fails the test that asked for it (never a silent skip).
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { stopGroup } from "./process-group";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface Dockerd {
  /** DOCKER_HOST value: unix://<tmp>/d.sock */
  host: string;
  dir: string;
  /** Run the docker CLI against this daemon; rejects with stderr on a non-zero exit. */
  docker(args: string[], opts?: { input?: Buffer | string; timeoutMs?: number }): Promise<string>;
  /** The daemon's log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export const DOCKER_CLI = process.env.DOCKER_CLI || (existsSync("/usr/local/bin/docker") ? "/usr/local/bin/docker" : "docker");

const groups = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of groups) if (p.pid && p.exitCode === null) try { process.kill(-p.pid, "SIGKILL"); } catch {}
});

function requireTool(bin: string): void {
  const r = spawnSync("sh", ["-c", `command -v ${bin}`]);
  if (r.status !== 0) throw new Error(`${bin} is not installed (Debian: apt-get install docker.io containerd); this test needs a real Docker engine`);
}

function launch(cmd: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, "a");
  const p = spawn(cmd, args, { detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  groups.add(p);
  return p;
}

async function stopTracked(p: ChildProcess, graceMs = 10_000): Promise<void> {
  await stopGroup(p, graceMs);
  groups.delete(p);
}

function runDocker(host: string, dir: string, args: string[], opts: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((res, rej) => {
    const child = execFile(
      DOCKER_CLI,
      args,
      { env: { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: join(dir, "cli") }, maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 120_000 },
      (err, stdout, stderr) => (err ? rej(new Error(`docker ${args.join(" ")} failed: ${err.message}\n${stderr}${stdout}`)) : res(stdout)),
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

export async function startDockerd(opts: { insecureRegistries?: string[]; registryMirrors?: string[]; readyTimeoutMs?: number } = {}): Promise<Dockerd> {
  for (const bin of ["dockerd", "containerd", DOCKER_CLI]) requireTool(bin);
  const dir = mkdtempSync("/tmp/dk");
  const host = `unix://${dir}/d.sock`;
  const containerdLog = join(dir, "containerd.log");
  const dockerdLog = join(dir, "dockerd.log");
  const log = () => [containerdLog, dockerdLog].map((f) => (existsSync(f) ? readFileSync(f, "utf8") : "")).join("\n");

  const containerd = launch("containerd", ["--root", join(dir, "cr"), "--state", join(dir, "cs"), "--address", join(dir, "c.sock")], containerdLog);
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  while (!existsSync(join(dir, "c.sock"))) {
    if (containerd.exitCode !== null) throw new Error(`containerd exited early:\n${log()}`);
    if (Date.now() > deadline) throw new Error(`containerd did not start:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const insecure = (opts.insecureRegistries ?? ["127.0.0.0/8"]).flatMap((r) => ["--insecure-registry", r]);
  // Docker Hub pulls (`docker pull alpine`) ask these first: how a Wharf pull-through cache is used as a mirror.
  const mirrors = (opts.registryMirrors ?? []).flatMap((m) => ["--registry-mirror", m]);
  const dockerd = launch(
    "dockerd",
    [
      "--containerd", join(dir, "c.sock"), "--data-root", join(dir, "d"), "--exec-root", join(dir, "e"),
      "--pidfile", join(dir, "p"), "-H", host, "--storage-driver", "vfs",
      "--iptables=false", "--ip-masq=false", "--bridge=none", ...insecure, ...mirrors,
    ],
    dockerdLog,
  );
  const stop = async () => {
    await stopTracked(dockerd);
    await stopTracked(containerd);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (;;) {
      if (dockerd.exitCode !== null) throw new Error(`dockerd exited early:\n${log()}`);
      if (Date.now() > deadline) throw new Error(`dockerd did not become ready:\n${log()}`);
      try {
        await runDocker(host, dir, ["version", "--format", "{{.Server.Version}}"], { timeoutMs: 5000 });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { host, dir, docker: (args, o) => runDocker(host, dir, args, o), log, stop };
}
