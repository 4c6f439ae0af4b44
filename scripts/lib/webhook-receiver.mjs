// A webhook receiver on loopback for tests: records every request and answers by path.
//   POST /ok/<anything>          200
//   POST /fail/<anything>        500
//   POST /flaky/<n>/<anything>   500 for the first n requests to that path, then 200
//   GET  /_received?path=<path>  JSON list of {method, path, headers, body} received on that path
// Test-only; started by vitest.config.ts (worker tests) and test/e2e/webhooks.test.ts.
import { createServer } from "node:http";

export function startReceiver(port = 0) {
  const received = new Map();
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    if (req.method === "GET" && url.pathname === "/_received") {
      res.setHeader("Content-Type", "application/json");
      return res.end(JSON.stringify(received.get(url.searchParams.get("path")) ?? []));
    }
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const list = received.get(url.pathname) ?? [];
      list.push({ method: req.method, path: url.pathname, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      received.set(url.pathname, list);
      const parts = url.pathname.split("/");
      let status = 404;
      if (parts[1] === "ok") status = 200;
      else if (parts[1] === "fail") status = 500;
      else if (parts[1] === "flaky") status = list.length > Number(parts[2]) ? 200 : 500;
      res.statusCode = status;
      res.end(status === 200 ? "ok" : "no");
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const p = server.address().port;
      resolve({
        port: p,
        url: `http://127.0.0.1:${p}`,
        received: (path) => received.get(path) ?? [],
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}
