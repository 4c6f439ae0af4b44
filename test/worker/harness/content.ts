/** Test content: random bytes, digests, and blobs and images pushed through the Worker. */
import { expect } from "vitest";
import { MediaTypes } from "../../../src/oci/media-types";
import { req } from "./requests";

export { cut } from "../../shared/bytes";

export const MiB = 1024 * 1024;

export const OCI_MANIFEST: string = MediaTypes.ociManifest;
export const OCI_INDEX: string = MediaTypes.ociIndex;

export async function sha256(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `sha256:${[...h].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Random bytes (native: the test runtime is instrumented, so byte loops in JS are slow). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

/** Another name for randomBytes, as the upload tests call it. */
export const noise = randomBytes;

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

/** Push config + one layer and an image manifest; returns the manifest's digest and bytes. */
export async function pushImage(
  name: string,
  tag: string | undefined,
  extra: Record<string, unknown> = {},
): Promise<{ digest: string; body: string; config: string; layer: string }> {
  const configBytes = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", tag, extra }));
  const config = await pushBlob(name, configBytes);
  const layerBytes = randomBytes(1000);
  const layer = await pushBlob(name, layerBytes);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: MediaTypes.ociConfig, digest: config, size: configBytes.length },
    layers: [{ mediaType: MediaTypes.ociLayerGzip, digest: layer, size: layerBytes.length }],
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
