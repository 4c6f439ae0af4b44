/** BLOB_URL_ORIGIN: where signed blob URLs point (npm start: wrangler's own port, past its TCP front). */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/worker/config";
import { parseSettings } from "../../src/worker/settings";
import { call } from "./harness";
import { BASE, pushImage } from "./harness";

const withOrigin = (o?: string) => Object.assign({ ...(env as unknown as Env) }, o === undefined ? {} : { BLOB_URL_ORIGIN: o }) as Env;

describe("BLOB_URL_ORIGIN", () => {
  it("signed blob URLs point at it, and the signed route there serves the bytes", async () => {
    const { layer } = await pushImage("origin/a", "v1");
    const res = await call(withOrigin("http://127.0.0.1:9"), "GET", `/v2/origin/a/blobs/${layer}`);
    expect(res.status).toBe(307);
    const loc = new URL(res.headers.get("Location")!);
    expect(loc.origin).toBe("http://127.0.0.1:9");
    expect(loc.pathname.startsWith("/_wharf/blobs/")).toBe(true);
    const bytes = await call(withOrigin("http://127.0.0.1:9"), "GET", `${BASE}${loc.pathname}${loc.search}`);
    expect(bytes.status).toBe(200);
    expect((await bytes.arrayBuffer()).byteLength).toBe(1000);
  });

  it("unset: the origin the request came to", async () => {
    const { layer } = await pushImage("origin/b", "v1");
    const res = await call(withOrigin(), "GET", `/v2/origin/b/blobs/${layer}`);
    expect(new URL(res.headers.get("Location")!).origin).toBe(BASE);
  });

  it("refuses what is not an origin", () => {
    for (const bad of ["127.0.0.1:9", "http://h/path", "ftp://h"]) expect(() => parseSettings({ BLOB_URL_ORIGIN: bad })).toThrow(/BLOB_URL_ORIGIN/);
    expect(parseSettings({ BLOB_URL_ORIGIN: "http://127.0.0.1:9/" }).BLOB_URL_ORIGIN).toBe("http://127.0.0.1:9");
  });
});
