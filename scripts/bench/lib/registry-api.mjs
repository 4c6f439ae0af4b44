/**
 * The few Distribution API calls the benchmark makes itself (seeding and listing), with fetch. Every call
 * has a timeout and checks its status.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { OCI_MANIFEST } from "./load.mjs";

const TIMEOUT_MS = 30_000;

/** fetch with a timeout; throws unless the status is one of `expect`. Resolves with the response and its body text. */
export async function call(url, init, expect) {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = await r.text();
  if (!expect.includes(r.status)) throw new Error(`${init.method ?? "GET"} ${url}: ${r.status} ${body.slice(0, 500)}`);
  return { r, body };
}

export function sha256(bytes) {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** POST a session, PUT the bytes with ?digest= (the form both registries accept). */
export async function uploadBlob(base, repo, bytes) {
  const digest = sha256(bytes);
  const { r } = await call(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" }, [202]);
  const loc = new URL(r.headers.get("location"), base);
  loc.searchParams.set("digest", digest);
  await call(loc, { method: "PUT", body: bytes, headers: { "Content-Type": "application/octet-stream" } }, [201]);
  return { digest, size: bytes.length };
}

export async function mountBlob(base, repo, digest, from) {
  await call(`${base}/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, { method: "POST" }, [201]);
}

export async function putManifest(base, repo, ref, bytes) {
  await call(`${base}/v2/${repo}/manifests/${ref}`, { method: "PUT", body: bytes, headers: { "Content-Type": OCI_MANIFEST } }, [201]);
}

/** A tiny image (config + one small layer) in `repo`; returns its manifest bytes and digests. */
export async function seedTinyImage(base, repo) {
  const config = await uploadBlob(base, repo, Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } })));
  const layer = await uploadBlob(base, repo, Buffer.from("wharf benchmark layer\n"));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layer }],
  }));
  await putManifest(base, repo, "latest", manifest);
  return { manifest, manifestDigest: sha256(manifest), config, layer };
}

/** GET a paginated list, following Link headers; returns the names, the pages and the seconds. */
export async function walk(base, firstPath, key, maxPages = 100_000) {
  const t0 = process.hrtime.bigint();
  const names = [];
  let path = firstPath;
  let pages = 0;
  while (path && pages < maxPages) {
    const { r, body } = await call(new URL(path, base), {}, [200]);
    names.push(...(JSON.parse(body)[key] ?? []));
    pages++;
    const link = r.headers.get("link");
    path = link ? /<([^>]+)>/.exec(link)?.[1] : null;
  }
  return { names, pages, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** PATCH bytes `start`..`end` of a blob file to the upload session at `loc` (with Content-Range when `ranged`); resolves with the session's next URL. */
async function patchFile(base, loc, blob, { start = 0, end = blob.size - 1, ranged = false }, timeoutMs) {
  const res = await fetch(loc, {
    method: "PATCH",
    body: Readable.toWeb(createReadStream(blob.path, { start, end })),
    duplex: "half",
    headers: { "Content-Type": "application/octet-stream", "Content-Length": String(end - start + 1), ...(ranged ? { "Content-Range": `${start}-${end}` } : {}) },
    signal: AbortSignal.timeout(Math.ceil(timeoutMs)),
  });
  await res.arrayBuffer();
  if (res.status !== 202) throw new Error(`PATCH ${loc}: ${res.status}`);
  return new URL(res.headers.get("location"), base);
}

/** Upload a blob file as skopeo does, one PATCH of the whole body (POST first), then DELETE the session: nothing is stored. */
export async function cancelledWholeBlobPatch(base, repo, blob, timeoutMs) {
  const { r } = await call(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" }, [202]);
  const next = await patchFile(base, new URL(r.headers.get("location"), base), blob, {}, timeoutMs);
  await call(next, { method: "DELETE" }, [204]);
}

/** Push a blob file in chunks of `chunk` bytes: POST, PATCH with Content-Range each, PUT ?digest=. */
export async function chunkedPush(base, repo, blob, chunk, timeoutMs) {
  const { r } = await call(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" }, [202]);
  let loc = new URL(r.headers.get("location"), base);
  for (let start = 0; start < blob.size; start += chunk) {
    loc = await patchFile(base, loc, blob, { start, end: Math.min(blob.size, start + chunk) - 1, ranged: true }, timeoutMs);
  }
  loc.searchParams.set("digest", blob.digest);
  await call(loc, { method: "PUT" }, [201]);
}
