/**
 * A small bounded load generator for HEAD requests. wrk 4.1 cannot measure HEAD: it waits for the body
 * that Content-Length announces and never gets (0 requests counted). This keeps `connections` keep-alive
 * sockets, each sending one HEAD at a time and reading the response head, for `seconds`; it reports the
 * same figures as load.mjs's wrk parser.
 */
import { connect } from "node:net";

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function headLoad(url, { connections, seconds }) {
  const u = new URL(url);
  const request = Buffer.from(`HEAD ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUser-Agent: wharf-bench\r\n\r\n`);
  const deadline = performance.now() + seconds * 1000;
  const latencies = [];
  let non2xx = 0;
  let socketErrors = 0;

  const one = () =>
    new Promise((resolve) => {
      const sock = connect({ host: u.hostname, port: Number(u.port), noDelay: true });
      let buf = "";
      let sent = 0;
      const send = () => {
        if (performance.now() >= deadline) return finish();
        sent = performance.now();
        buf = "";
        sock.write(request);
      };
      const finish = () => {
        sock.removeAllListeners();
        sock.on("error", () => undefined);
        sock.destroy();
        resolve();
      };
      sock.on("connect", send);
      sock.on("data", (d) => {
        buf += d.toString("latin1");
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        if (end + 4 !== buf.length) {
          socketErrors++; // a HEAD response must not carry a body
          return finish();
        }
        latencies.push(performance.now() - sent);
        const status = Number(buf.slice(9, 12));
        if (!(status >= 200 && status < 400)) non2xx++;
        send();
      });
      sock.on("error", () => { socketErrors++; finish(); });
      sock.on("close", () => { if (performance.now() < deadline) socketErrors++; finish(); });
      sock.setTimeout(10_000, () => { socketErrors++; finish(); });
    });

  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, one));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, p50ms: percentile(latencies, 50), p99ms: percentile(latencies, 99), requests: latencies.length, non2xx, socketErrors };
}
