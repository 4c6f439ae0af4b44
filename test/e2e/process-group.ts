// Stopping a server a test started in its own process group (spawned with `detached: true`).
import type { ChildProcess } from "node:child_process";

/** SIGTERM to the group, SIGKILL after `graceMs`; returns at once when it has already ended (exit or signal). */
export async function stopGroup(p: ChildProcess, graceMs: number): Promise<void> {
  // A process ended by a signal keeps exitCode null: check both, or this would wait for an exit already past.
  if (!p.pid || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once("exit", r));
  try { process.kill(-p.pid, "SIGTERM"); } catch {}
  const t = setTimeout(() => { try { process.kill(-p.pid!, "SIGKILL"); } catch {} }, graceMs);
  await exited;
  clearTimeout(t);
}
