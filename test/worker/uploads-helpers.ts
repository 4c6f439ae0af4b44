/** Helpers for chunked-upload tests: random data made natively (fast), chunk pushes, session ids. */
import { env } from "cloudflare:test";
import { expect } from "vitest";
import { parseDigest } from "../../src/oci/grammar";
import { paths } from "../../src/worker/storage/paths";
import { req } from "./helpers";

export const MiB = 1024 * 1024;
/** UPLOAD_PART_SIZE in vitest.config.ts. */
export const PART = 5 * MiB;

export { cut } from "../shared/bytes";
export { randomBytes as noise } from "./helpers";

/** PATCH one chunk with Content-Range at `start`. */
export function patch(location: string, chunk: Uint8Array, start: number): Promise<Response> {
  return req("PATCH", location, {
    body: chunk,
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(chunk.length),
      "Content-Range": `${start}-${start + chunk.length - 1}`,
    },
  });
}

/** PATCH every chunk in order, checking each 202 and Range; returns the bytes sent. */
export async function patchAll(location: string, chunks: Uint8Array[], start = 0): Promise<number> {
  let offset = start;
  for (const c of chunks) {
    const res = await patch(location, c, offset);
    expect(res.status, await res.clone().text()).toBe(202);
    offset += c.length;
    expect(res.headers.get("Range")).toBe(`0-${offset - 1}`);
  }
  return offset;
}

export function finish(location: string, digest: string): Promise<Response> {
  return req("PUT", `${location}?digest=${digest}`, { headers: { "Content-Length": "0" } });
}

/** The Range header GET on the session answers ("0-<last byte>"). */
export async function sessionRange(location: string): Promise<string> {
  const res = await req("GET", location);
  expect(res.status).toBe(204);
  return res.headers.get("Range")!;
}

export const rangeOf = (offset: number) => `0-${Math.max(0, offset - 1)}`;

export function sessionStub(location: string) {
  const id = location.split("/").pop()!;
  return env.UPLOADS.get(env.UPLOADS.idFromString(id));
}

/** The data key the content index points at for `digest`, or null. */
export async function indexedDataKey(digest: string): Promise<string | null> {
  const idx = await env.BUCKET.head(paths.blobIndex(parseDigest(digest)));
  return idx?.customMetadata?.data ?? null;
}

/** Every physical data object in the bucket. */
export async function dataKeys(): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.BUCKET.list({ prefix: "data/", cursor });
    out.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}

/** SHA-256 of what the registry stored for `digest`, read back from R2. */
export async function storedDigest(digest: string): Promise<string> {
  const key = await indexedDataKey(digest);
  expect(key).not.toBeNull();
  const obj = await env.BUCKET.get(key!);
  const ds = new crypto.DigestStream("SHA-256");
  await obj!.body.pipeTo(ds);
  const h = new Uint8Array(await ds.digest);
  return `sha256:${[...h].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}
