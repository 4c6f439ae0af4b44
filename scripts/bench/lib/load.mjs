/**
 * Request-rate runs, each a fixed number of seconds at a fixed number of connections: GET with wrk (C, so
 * that the load generator takes little of the 2 cores), HEAD with our own small generator (head-load.mjs)
 * because wrk 4.1 cannot do HEAD. Every response must be 2xx/3xx: non-2xx answers and socket errors fail
 * the run.
 */
import { headLoad } from "./head-load.mjs";
import { run } from "./procs.mjs";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/** Parse wrk's `--latency` report: requests/s, p50/p99 in ms, errors. */
export function parseWrk(text) {
  const unit = { us: 1e-3, ms: 1, s: 1e3, m: 60e3 };
  const pct = (p) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(text);
    return m ? Number(m[1]) * unit[m[2]] : NaN;
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = sock ? sock.slice(1).reduce((s, n) => s + Number(n), 0) : 0;
  return { rps, p50ms: pct(50), p99ms: pct(99), requests, non2xx, socketErrors };
}

/** One bounded run; resolves with { rps, p50ms, p99ms, requests, non2xx, socketErrors }. */
export async function measure(url, { connections, seconds, method = "GET", headers = {} }) {
  if (method === "HEAD") return check(url, method, connections, await headLoad(url, { connections, seconds }), "");
  if (method !== "GET") throw new Error(`unsupported method ${method}`);
  const args = ["-t", String(Math.min(2, connections)), "-c", String(connections), "-d", `${seconds}s`, "--timeout", "10s", "--latency"];
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}: ${v}`);
  args.push(url);
  const { out } = await run("wrk", args, { timeoutMs: (seconds + 30) * 1000 });
  return check(url, method, connections, parseWrk(out), out);
}

function check(url, method, connections, r, out) {
  if (!(r.requests > 0) || r.non2xx > 0 || r.socketErrors > 0) {
    throw new Error(`${method} ${url} -c ${connections}: ${r.requests} requests, ${r.non2xx} non-2xx, ${r.socketErrors} socket errors\n${out}`);
  }
  return r;
}
