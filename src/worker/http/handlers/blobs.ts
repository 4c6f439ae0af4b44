/** Blob HEAD, GET (redirect to a signed URL, or stream), DELETE, and the signed blob route itself. */
import { RegistryError } from "../../errors";
import { type Digest, parseDigest } from "../../../oci/grammar";
import type { BlobInfo } from "../../storage/blobs";
import { signBlobPath, verifyBlobSignature } from "../../signing/blob-url";
import { presignR2Get } from "../../signing/sigv4";
import type { Settings } from "../../settings";
import type { Handler, RequestContext } from "../context";
import { notModified } from "../conditional";
import { parseRange } from "../range";

const IMMUTABLE = "public, max-age=31536000, immutable";

async function blobInRepo(c: RequestContext): Promise<BlobInfo> {
  const digest = parseDigest(c.params.digest);
  const info = await c.storage.blobs.statInRepo(c.name, digest);
  if (!info) throw new RegistryError("BLOB_UNKNOWN", `blob ${digest} unknown to ${c.name}`, { digest: digest.toString() });
  return info;
}

function blobHeaders(info: BlobInfo): Headers {
  return new Headers({
    "Content-Type": "application/octet-stream",
    "Docker-Content-Digest": info.digest.toString(),
    "Accept-Ranges": "bytes",
    ETag: `"${info.digest}"`,
  });
}

function withCaching(headers: Headers, cacheControl: string): Headers {
  headers.set("Cache-Control", cacheControl);
  return headers;
}

export const headBlob: Handler = async (c) => {
  const info = await blobInRepo(c);
  const headers = blobHeaders(info);
  headers.set("Content-Length", String(info.size));
  headers.set("Cache-Control", IMMUTABLE);
  return notModified(c.request, headers) ?? new Response(null, { status: 200, headers });
};

export const getBlob: Handler = async (c) => {
  const info = await blobInRepo(c);
  const unchanged = notModified(c.request, withCaching(blobHeaders(info), IMMUTABLE));
  if (unchanged) return unchanged;
  const location = await signedLocation(c, info);
  if (!location) return serveBlob(c, info, IMMUTABLE);
  const headers = blobHeaders(info);
  headers.set("Location", location);
  headers.set("Cache-Control", "private, no-store");
  return new Response(null, { status: 307, headers });
};

export const deleteBlob: Handler = async (c) => {
  if (!c.settings.DELETE_ENABLED) throw new RegistryError("UNSUPPORTED", "deletes are disabled on this registry");
  const digest = parseDigest(c.params.digest);
  if (!(await c.storage.blobs.unlink(c.name, digest))) {
    throw new RegistryError("BLOB_UNKNOWN", `blob ${digest} unknown to ${c.name}`, { digest: digest.toString() });
  }
  return new Response(null, { status: 202, headers: { "Content-Length": "0" } });
};

/** GET/HEAD /_wharf/blobs/<alg>/<hex>?exp=&sig= : reachable without credentials until it expires. */
export const getSignedBlob: Handler = async (c) => {
  const secret = c.settings.BLOB_URL_SECRET;
  if (!secret) throw new RegistryError("BLOB_UNKNOWN", "this registry does not sign blob URLs");
  let digest: Digest;
  try {
    digest = parseDigest(`${c.params.algorithm}:${c.params.hex}`);
  } catch {
    throw new RegistryError("DENIED", "signed URL invalid");
  }
  const left = await verifyBlobSignature(secret, digest, c.url.searchParams.get("exp"), c.url.searchParams.get("sig"));
  const info = await c.storage.blobs.stat(digest);
  if (!info) throw new RegistryError("BLOB_UNKNOWN", `blob ${digest} unknown`);
  return serveBlob(c, info, `public, max-age=${left}`);
};

/** Where a blob GET redirects to, or null to stream from the Worker. */
async function signedLocation(c: RequestContext, info: BlobInfo): Promise<string | null> {
  if (!c.settings.BLOB_REDIRECT) return null;
  const ttl = c.settings.BLOB_URL_TTL_SECONDS;
  const presign = r2Credentials(c.settings);
  if (presign) {
    const windowStart = Math.floor(Date.now() / 1000 / ttl) * ttl;
    return presignR2Get(presign, info.dataKey, 2 * ttl, new Date(windowStart * 1000));
  }
  if (!c.settings.BLOB_URL_SECRET) return null;
  return new URL(await signBlobPath(c.settings.BLOB_URL_SECRET, info.digest, ttl), c.url).toString();
}

/** Stream a blob's bytes: 200, or 206 for a satisfiable Range. */
async function serveBlob(c: RequestContext, info: BlobInfo, cacheControl: string): Promise<Response> {
  const headers = withCaching(blobHeaders(info), cacheControl);
  const unchanged = notModified(c.request, headers);
  if (unchanged) return unchanged;
  const range = parseRange(c.request.headers.get("Range"), info.size);
  const length = range ? range.length : info.size;
  headers.set("Content-Length", String(length));
  if (range) headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${info.size}`);
  const status = range ? 206 : 200;
  if (c.request.method === "HEAD") return new Response(null, { status, headers });
  const body = info.size === 0 ? null : await c.storage.blobs.open(info, range ?? undefined);
  return new Response(body, { status, headers });
}

/** The R2 S3 credentials for presigned URLs, when all four settings are there. */
function r2Credentials(s: Settings) {
  const { R2_ACCESS_KEY_ID: accessKeyId, R2_SECRET_ACCESS_KEY: secretAccessKey, R2_ACCOUNT_ID: accountId, R2_BUCKET_NAME: bucket } = s;
  return accessKeyId && secretAccessKey && accountId && bucket ? { accessKeyId, secretAccessKey, accountId, bucket } : undefined;
}
