/** Upload sessions through the Worker: chunk PATCHes, the final PUT, the session's Range and its Durable Object. */
import { env } from "cloudflare:test";
import { expect } from "vitest";
import { MiB } from "./content";
import { req } from "./requests";

/** UPLOAD_PART_SIZE in vitest.config.ts. */
export const PART = 5 * MiB;

/** Open an upload session; returns its Location. */
export async function openSession(name: string): Promise<string> {
  const res = await req("POST", `/v2/${name}/blobs/uploads/`);
  expect(res.status).toBe(202);
  return res.headers.get("Location")!;
}

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

/** The session's Durable Object, for runInDurableObject / evictDurableObject / runDurableObjectAlarm. */
export function sessionStub(location: string) {
  const id = location.split("/").pop()!;
  return env.UPLOADS.get(env.UPLOADS.idFromString(id));
}
