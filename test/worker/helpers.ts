/** Helpers for whole-Worker tests: requests through the real Worker (SELF) and small OCI objects. */
import { SELF } from "cloudflare:test";
import { expect } from "vitest";

export const BASE = "http://registry.test";

export function req(method: string, path: string, init: RequestInit = {}): Promise<Response> {
  return SELF.fetch(path.startsWith("http") ? path : BASE + path, { method, redirect: "manual", ...init });
}

export async function sha256(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `sha256:${[...h].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Random bytes (native: the test runtime is instrumented, so byte loops in JS are slow). */
export function randomBytes(n: number, _seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

export async function expectError(res: Response, status: number, code: string): Promise<void> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { errors: { code: string }[] };
  expect(body.errors[0].code).toBe(code);
}

/** Push a blob monolithically; returns its digest. */
export async function pushBlob(name: string, data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await sha256(bytes);
  const res = await req("POST", `/v2/${name}/blobs/uploads/?digest=${digest}`, {
    body: bytes,
    headers: { "Content-Length": String(bytes.length) },
  });
  expect(res.status).toBe(201);
  return digest;
}

/** Open an upload session; returns its Location. */
export async function openSession(name: string): Promise<string> {
  const res = await req("POST", `/v2/${name}/blobs/uploads/`);
  expect(res.status).toBe(202);
  return res.headers.get("Location")!;
}

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

/** Push config + one layer and an image manifest; returns the manifest's digest and bytes. */
export async function pushImage(
  name: string,
  tag: string | undefined,
  extra: Record<string, unknown> = {},
): Promise<{ digest: string; body: string; config: string; layer: string }> {
  const configBytes = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", tag, extra }));
  const config = await pushBlob(name, configBytes);
  const layerBytes = randomBytes(1000, tag ? tag.length + 7 : 3);
  const layer = await pushBlob(name, layerBytes);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: configBytes.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layer, size: layerBytes.length }],
    ...extra,
  };
  const body = JSON.stringify(manifest);
  const digest = await sha256(body);
  const res = await req("PUT", `/v2/${name}/manifests/${tag ?? digest}`, {
    body,
    headers: { "Content-Type": OCI_MANIFEST },
  });
  expect(res.status).toBe(201);
  return { digest, body, config, layer };
}
