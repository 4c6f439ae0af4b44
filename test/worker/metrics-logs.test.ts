// The request log line's fields, the Analytics Engine data point layout, and which digest path an upload took.
import { createExecutionContext, env, evictDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import worker from "../../src/worker/index";
import type { Env } from "../../src/worker/config";
import { dataPoint, LABEL_COLUMNS } from "../../src/worker/metrics/analytics";
import { analyticsMetrics } from "../../src/worker/metrics/analytics";
import { BASE, randomBytes, sha256 } from "./harness";
import { sessionStub } from "./harness";

/** Call the Worker with request logging on; returns the response and the parsed log lines. */
async function logged(method: string, path: string, init: RequestInit = {}, overrides: Partial<Env> = {}) {
  const spy = vi.spyOn(console, "log");
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(BASE + path, { method, ...init }), { ...(env as unknown as Env), LOG_REQUESTS: "true", ...overrides }, ctx);
  await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  const lines = spy.mock.calls.map((c) => String(c[0])).filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
  spy.mockRestore();
  return { res, lines };
}

describe("request log line", () => {
  it("is one JSON line with request id, route, repository, status, bytes, duration and caller", async () => {
    const bytes = randomBytes(1234);
    const digest = await sha256(bytes);
    const { res, lines } = await logged("POST", `/v2/logs/app/blobs/uploads/?digest=${digest}`, {
      body: bytes,
      headers: { "Content-Length": "1234", "CF-Connecting-IP": "192.0.2.44" },
    });
    expect(res.status).toBe(201);
    const requestLines = lines.filter((l) => l.requestId);
    expect(requestLines).toHaveLength(1);
    expect(requestLines[0]).toMatchObject({
      requestId: res.headers.get("Wharf-Request-Id"),
      method: "POST",
      route: "/v2/:name+/blobs/uploads",
      repository: "logs/app",
      status: 201,
      bytesIn: 1234,
      caller: "anonymous",
    });
    expect(typeof requestLines[0].durationMs).toBe("number");
  });

  it("says which digest path a chunked upload took: fast while the hasher lives, readback after eviction", async () => {
    const paths: unknown[] = [];
    for (const evict of [false, true]) {
      const data = randomBytes(3000);
      const digest = await sha256(data);
      const open = await logged("POST", "/v2/logs/chunked/blobs/uploads/");
      const loc = open.res.headers.get("Location")!;
      await logged("PATCH", loc, { body: data, headers: { "Content-Length": "3000", "Content-Range": "0-2999" } });
      if (evict) await evictDurableObject(sessionStub(loc));
      const { res, lines } = await logged("PUT", `${loc}?digest=${digest}`, { headers: { "Content-Length": "0" } });
      expect(res.status).toBe(201);
      paths.push(lines.find((l) => l.requestId)?.digestPath);
    }
    expect(paths).toEqual(["fast", "readback"]);
  });
});

describe("Analytics Engine data points", () => {
  it("put the metric in index1 and blob1, the known labels in fixed columns, the rest in blob6, the value in double1", () => {
    expect(LABEL_COLUMNS).toEqual(["route", "status", "repository", "kind"]);
    expect(dataPoint("requests", 1, { route: "/v2/", status: "200", repository: "a/b" })).toEqual({
      indexes: ["requests"],
      blobs: ["requests", "/v2/", "200", "a/b", "", ""],
      doubles: [1],
    });
    expect(dataPoint("proxy_bytes", 2048, { kind: "miss", upstream: "docker.io", repository: "library/alpine", attempt: 2 })).toEqual({
      indexes: ["proxy_bytes"],
      blobs: ["proxy_bytes", "", "", "library/alpine", "miss", "attempt=2&upstream=docker.io"],
      doubles: [2048],
    });
  });

  it("are a no-op without the binding, and never throw with it", () => {
    expect(() => analyticsMetrics(undefined).count("requests")).not.toThrow();
    expect(() => analyticsMetrics(env.METRICS).count("requests", 1, { route: "/v2/" })).not.toThrow();
  });
});
