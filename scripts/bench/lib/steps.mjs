// Per-step timing for the scripts that measure one request or operation after another (blob-steps,
// fill-steps): wall time and each server process group's CPU, summed per named step.
import { waitIdle } from "./procs.mjs";
import { serverCpu } from "./servers.mjs";

/**
 * Run `fn` and add its wall milliseconds to `steps[name].ms` and the CPU seconds each of `server`'s
 * process groups used meanwhile to `steps[name].cpu` (server null: wall time only). `settle`: before
 * reading the CPU, wait until the server is idle, so work it does after answering counts too. Returns
 * what `fn` returned.
 */
export async function timedStep(steps, name, server, fn, { settle = false } = {}) {
  const c0 = server ? serverCpu(server) : {};
  const t0 = performance.now();
  const r = await fn();
  const ms = performance.now() - t0;
  if (server && settle) await waitIdle(server.pid, { everyMs: 100 });
  const c1 = server ? serverCpu(server) : {};
  const s = (steps[name] ??= { ms: [], cpu: {} });
  s.ms.push(ms);
  for (const [k, v] of Object.entries(c1)) s.cpu[k] = (s.cpu[k] ?? 0) + (v - (c0[k] ?? 0));
  return r;
}
