/**
 * Child processes for the benchmark: every server runs in its own process group, is remembered, and is
 * killed (the whole group) on stop, on error, on Ctrl-C and at exit. Commands run with a time limit.
 * Memory: resident set sizes of a process tree, sampled from /proc.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { freePort } from "../../lib/net.mjs";
export { freePort };

const groups = new Set();
const tempDirs = new Set();


/** Remove this directory at exit (also on error and Ctrl-C). */
export function cleanupLater(dir) {
  tempDirs.add(dir);
  return dir;
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** A long-running server in its own process group; output is kept (last 64 KB) for error messages. */
export function startGroup(cmd, args, opts = {}) {
  const proc = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  const keep = (d) => {
    output += d;
    if (output.length > 65536) output = output.slice(-65536);
  };
  proc.stdout.on("data", keep);
  proc.stderr.on("data", keep);
  groups.add(proc);
  const exited = new Promise((r) => proc.once("exit", r));
  return {
    proc,
    pid: proc.pid,
    log: () => output,
    exited: () => proc.exitCode !== null || proc.signalCode !== null,
    async stop() {
      if (!groups.has(proc)) return;
      if (proc.exitCode === null && proc.signalCode === null) {
        try { process.kill(-proc.pid, "SIGTERM"); } catch {}
        const t = setTimeout(() => { try { process.kill(-proc.pid, "SIGKILL"); } catch {} }, 5000);
        await exited;
        clearTimeout(t);
      }
      // wrangler's workerd children may outlive their parent for a moment: make sure the group is gone.
      try { process.kill(-proc.pid, "SIGKILL"); } catch {}
      groups.delete(proc);
    },
  };
}

function killEverything() {
  for (const p of groups) try { process.kill(-p.pid, "SIGKILL"); } catch {}
  groups.clear();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

process.on("exit", killEverything);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    console.error(`\nbench: ${sig}, stopping servers and removing temporary folders`);
    killEverything();
    process.exit(130);
  });
}

/**
 * Run a command to completion within `timeoutMs`; resolves with its output and wall time in seconds,
 * rejects on a non-zero exit or on timeout (the command's group is killed).
 */
export function run(cmd, args, { timeoutMs = 600_000, env, cwd, input } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const proc = spawn(cmd, args, { env: env ? { ...process.env, ...env } : process.env, cwd, stdio: ["pipe", "pipe", "pipe"], detached: true });
    groups.add(proc);
    let out = "";
    let err = "";
    proc.stdout.on("data", (d) => { if (out.length < 1 << 20) out += d; });
    proc.stderr.on("data", (d) => { if (err.length < 1 << 20) err += d; });
    if (input !== undefined) proc.stdin.end(input);
    else proc.stdin.end();
    const timer = setTimeout(() => {
      try { process.kill(-proc.pid, "SIGKILL"); } catch {}
    }, timeoutMs);
    proc.on("error", (e) => { clearTimeout(timer); groups.delete(proc); reject(e); });
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      groups.delete(proc);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code === 0) resolve({ out, err, seconds });
      else reject(new Error(`${cmd} ${args.join(" ")} failed (${signal ?? code}) after ${seconds.toFixed(1)} s:\n${err.slice(-4000)}${out.slice(-2000)}`));
    });
  });
}

// --- memory -----------------------------------------------------------------------------------------

function procStat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = s.lastIndexOf(")");
    const comm = s.slice(s.indexOf("(") + 1, close);
    const fields = s.slice(close + 2).split(" ");
    // fields[11], [12]: utime, stime in clock ticks (100 per second on Linux).
    return { pid, comm, ppid: Number(fields[1]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100 };
  } catch {
    return null;
  }
}

/** The process and all its descendants, with their command names. */
export function processTree(rootPid) {
  const all = [];
  for (const e of readdirSync("/proc")) if (/^\d+$/.test(e)) {
    const st = procStat(Number(e));
    if (st) all.push(st);
  }
  const byParent = new Map();
  for (const p of all) {
    if (!byParent.has(p.ppid)) byParent.set(p.ppid, []);
    byParent.get(p.ppid).push(p);
  }
  const root = all.find((p) => p.pid === rootPid);
  if (!root) return [];
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const c of byParent.get(out[i].pid) ?? []) out.push(c);
  return out;
}

/** The TCP ports a process listens on (from its socket fds and /proc/net/tcp{,6}). */
export function listeningPorts(pid) {
  const listening = new Map(); // socket inode -> port
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try { text = readFileSync(table, "utf8"); } catch { continue; }
    for (const line of text.split("\n").slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length > 9 && c[3] === "0A") listening.set(c[9], parseInt(c[1].split(":")[1], 16));
    }
  }
  const ports = [];
  let fds = [];
  try { fds = readdirSync(`/proc/${pid}/fd`); } catch { return ports; }
  for (const fd of fds) {
    let link = "";
    try { link = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m && listening.has(m[1])) ports.push(listening.get(m[1]));
  }
  return ports;
}

/** Resident set size in bytes (0 if the process is gone). */
export function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) used so far by each group of a process tree. */
export function cpuByGroup(rootPids, classify) {
  const sums = {};
  for (const root of rootPids) {
    for (const p of processTree(root)) {
      const group = classify(p);
      if (group) sums[group] = (sums[group] ?? 0) + p.cpuSeconds;
    }
  }
  return sums;
}

/**
 * Samples the RSS of process trees every `everyMs` until stopped. `classify(proc)` names the group a
 * process counts in (or null to leave it out). The result: the peak of each group's summed RSS, and the
 * CPU seconds each group used between start and stop (less sensitive than wall time to other load on
 * the machine).
 */
export function sampleRss(rootPids, classify, everyMs = 100) {
  const peak = {};
  let start = null;
  let samples = 0;
  const cpu0 = cpuByGroup(rootPids, classify);
  const tick = () => {
    const sums = {};
    for (const root of rootPids) {
      for (const p of processTree(root)) {
        const group = classify(p);
        if (!group) continue;
        sums[group] = (sums[group] ?? 0) + rssBytes(p.pid);
      }
    }
    for (const [k, v] of Object.entries(sums)) peak[k] = Math.max(peak[k] ?? 0, v);
    start ??= sums;
    samples++;
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      const cpu1 = cpuByGroup(rootPids, classify);
      const cpuSeconds = Object.fromEntries(Object.entries(cpu1).map(([k, v]) => [k, v - (cpu0[k] ?? 0)]));
      return { peakBytes: peak, startBytes: start, cpuSeconds, samples };
    },
  };
}

/**
 * Wait until a server's processes are idle: less than `share` of one core used over `everyMs`, checked
 * for at most `maxMs` (then go on). A cache fill answers its client before it has stored the blob; the
 * next measurement should not pay for the previous one's background work.
 */
export async function waitIdle(rootPid, { everyMs = 250, share = 0.05, maxMs = 15_000 } = {}) {
  const total = () => processTree(rootPid).reduce((s, p) => s + p.cpuSeconds, 0);
  const end = Date.now() + maxMs;
  let before = total();
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, everyMs));
    const now = total();
    if (now - before < (share * everyMs) / 1000) return;
    before = now;
  }
}
