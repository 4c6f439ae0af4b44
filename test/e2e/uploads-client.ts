/** A minimal chunked-upload client for e2e tests: fetch for whole chunks, node:http for a broken one. */
import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { expect } from "vitest";

export const MiB = 1024 * 1024;

/** Bytes backed by a plain ArrayBuffer (what fetch's BodyInit accepts). */
export type Bytes = Uint8Array<ArrayBuffer>;

export function sha256(data: Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function noise(n: number): Bytes {
  return new Uint8Array(randomBytes(n));
}

export const rangeOf = (offset: number) => `0-${Math.max(0, offset - 1)}`;

export async function openSession(base: string, repo: string): Promise<string> {
  const res = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  expect(res.status).toBe(202);
  return new URL(res.headers.get("Location")!, base).toString();
}

export function patch(location: string, chunk: Bytes, start: number): Promise<Response> {
  return fetch(location, {
    method: "PATCH",
    body: chunk,
    headers: { "Content-Type": "application/octet-stream", "Content-Range": `${start}-${start + chunk.length - 1}` },
  });
}

/** PATCH chunks in order from `start`, checking every answer; returns the new offset. */
export async function patchAll(location: string, chunks: Bytes[], start = 0): Promise<number> {
  let offset = start;
  for (const c of chunks) {
    const res = await patch(location, c, offset);
    expect(res.status, await res.text()).toBe(202);
    offset += c.length;
    expect(res.headers.get("Range")).toBe(rangeOf(offset));
  }
  return offset;
}

export { cut } from "../shared/bytes";

export function finish(location: string, digest: string): Promise<Response> {
  const u = new URL(location);
  u.searchParams.set("digest", digest);
  return fetch(u, { method: "PUT" });
}

export async function sessionRange(location: string): Promise<string> {
  const res = await fetch(location);
  expect(res.status, await res.text()).toBe(204);
  return res.headers.get("Range")!;
}

/** Fetch the blob (following the signed-URL redirect) and hash it as it streams. */
export async function pulledDigest(base: string, repo: string, digest: string): Promise<string> {
  const res = await fetch(`${base}/v2/${repo}/blobs/${digest}`);
  expect(res.status).toBe(200);
  const h = createHash("sha256");
  for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) h.update(part);
  return `sha256:${h.digest("hex")}`;
}

/**
 * Start a PATCH that declares `chunk.length` bytes, send only the first `sent` of them, wait `holdMs`
 * so the server has consumed them, then destroy the socket. Resolves when the socket is gone.
 */
export function patchThenDrop(location: string, chunk: Uint8Array, start: number, sent: number, holdMs: number): Promise<void> {
  return new Promise((resolve) => {
    const u = new URL(location);
    const req = request({
      host: u.hostname,
      port: u.port,
      path: u.pathname + u.search,
      method: "PATCH",
      headers: {
        "Content-Type": "application/octet-stream",
        "Content-Length": String(chunk.length),
        "Content-Range": `${start}-${start + chunk.length - 1}`,
      },
    });
    req.on("error", () => undefined);
    req.on("close", () => resolve());
    req.write(chunk.subarray(0, sent), () => setTimeout(() => req.destroy(), holdMs));
  });
}
