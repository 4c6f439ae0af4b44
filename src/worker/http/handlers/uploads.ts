/**
 * Blob uploads: POST (start, monolithic with ?digest=, or cross-repository mount), PATCH (a chunk),
 * PUT (last chunk + digest), GET (where the session stands), DELETE (cancel). Sessions live in the
 * UploadSession Durable Object; this module only translates HTTP to session calls.
 */
import { DomainError } from "../../domain-errors";
import { fromDomain, RegistryError } from "../../errors";
import { parseDigest, parseName } from "../../../oci/grammar";
import { limitBody } from "../../upload/body-limit";
import { METRICS } from "../../metrics/names";
import type { Handler, RequestContext } from "../context";
import { linkedNameOf } from "../../proxy/handlers";

const blobLocation = (name: string, digest: string) => `/v2/${name}/blobs/${digest}`;
const sessionLocation = (name: string, id: string) => `/v2/${name}/blobs/uploads/${id}`;

function created(name: string, digest: string): Response {
  return new Response(null, {
    status: 201,
    headers: { Location: blobLocation(name, digest), "Docker-Content-Digest": digest, "Content-Length": "0" },
  });
}

/** Where an upload stands, as the Range header says it: the bytes stored so far, "0-<last byte>". */
export function rangeHeader(offset: number): string {
  return `0-${Math.max(0, offset - 1)}`;
}

/**
 * A session call whose error says where the upload stands (a chunk out of order, cut short, not
 * stored): answer it with that Range, so the client can continue from there.
 */
async function resumable<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof DomainError && err.offset !== undefined) throw fromDomain(err, { Range: rangeHeader(err.offset) });
    throw err;
  }
}

function accepted(c: RequestContext, id: string, offset: number, status = 202): Response {
  const headers: Record<string, string> = {
    Location: sessionLocation(c.name, id),
    Range: rangeHeader(offset),
    "Docker-Upload-UUID": id,
    "OCI-Chunk-Min-Length": String(c.settings.UPLOAD_PART_SIZE),
    "Content-Length": "0",
  };
  if (c.settings.MAX_CHUNK_BYTES > 0) headers["OCI-Chunk-Max-Length"] = String(c.settings.MAX_CHUNK_BYTES);
  return new Response(null, { status, headers });
}

/** Content-Length of the body, null when absent (streamed with chunked encoding). */
function bodyLength(c: RequestContext): number | null {
  const raw = c.request.headers.get("Content-Length");
  if (raw === null) return null;
  if (!/^\d+$/.test(raw)) throw new RegistryError("SIZE_INVALID", "Content-Length invalid");
  return Number(raw);
}

const tooLarge = (max: number, headers: Record<string, string> = {}) =>
  new RegistryError(
    "BLOB_UPLOAD_TOO_LARGE",
    `request body over ${max} bytes: push large blobs in chunks (PATCH with Content-Range) of at most ${max} bytes, or docker push through \`wharf daemon\``,
    { maxChunkBytes: max },
    headers,
  );

/**
 * Refuse a declared body over MAX_CHUNK_BYTES before reading it. A body streamed without Content-Length
 * (docker's PATCH) is counted instead, see `limited`.
 */
function checkChunkSize(c: RequestContext, length: number | null): void {
  const max = c.settings.MAX_CHUNK_BYTES;
  if (max > 0 && length !== null && length > max) throw tooLarge(max);
}

/**
 * Run `fn` on a body of unknown length, cut at MAX_CHUNK_BYTES (upload/body-limit.ts): past the limit
 * the session keeps what it received and rests there, and the request is answered 413 with the
 * session's Range (its last good offset).
 */
async function limited<T>(c: RequestContext, body: ReadableStream<Uint8Array> | null, length: number | null, fn: (body: ReadableStream<Uint8Array> | null) => Promise<T>): Promise<T> {
  const max = c.settings.MAX_CHUNK_BYTES;
  if (!body || length !== null || max <= 0) return fn(body);
  const lim = limitBody(body, max);
  let result: T;
  try {
    result = await fn(lim.stream);
  } catch (err) {
    // Not past the limit: the session failed for its own reason (and drained its stream, or went away).
    if (!lim.tripped) throw err;
    await lim.done; // dropping the rest of the body, so the 413 reaches the client
    const range = err instanceof RegistryError ? err.headers.Range : undefined;
    throw tooLarge(max, range ? { Range: range } : {});
  }
  await lim.done;
  return result;
}

/** The body stream, or null for an empty body. */
function bodyOf(c: RequestContext, length: number | null): ReadableStream<Uint8Array> | null {
  if (length === 0 || !c.request.body) return null;
  return c.request.body;
}

/** Content-Range "<start>-<end>" (also "bytes <start>-<end>/<total>"); returns the start, checked against the length. */
function chunkStart(c: RequestContext, length: number | null): number | null {
  const raw = c.request.headers.get("Content-Range");
  if (!raw) return null;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(raw.trim());
  if (!m) throw new RegistryError("RANGE_INVALID", `Content-Range invalid: ${raw}`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start || (length !== null && end - start + 1 !== length)) {
    throw new RegistryError("RANGE_INVALID", `Content-Range ${raw} does not match Content-Length ${length}`);
  }
  return start;
}

export const startUpload: Handler = async (c) => {
  const q = c.url.searchParams;
  const mount = q.get("mount");
  if (mount) {
    const mounted = await tryMount(c, mount, q.get("from"));
    if (mounted) return created(c.name, mounted);
  }
  const digest = q.get("digest");
  const length = bodyLength(c);
  if (digest) {
    const d = parseDigest(digest);
    checkChunkSize(c, length);
    if (length === null) throw new RegistryError("SIZE_INVALID", "monolithic upload needs Content-Length");
    const body = bodyOf(c, length) ?? new Blob([]).stream();
    await c.storage.blobs.putVerified(c.name, d, body, length);
    c.metrics.count(METRICS.upload_commits, 1, { kind: "monolithic", repository: c.name });
    return created(c.name, d.toString());
  }
  const { id, status } = await c.sessions.create(c.name);
  const body = bodyOf(c, length);
  if (body) {
    checkChunkSize(c, length);
    const st = await limited(c, body, length, (b) => resumable(c.sessions.append(id, c.name, b!, null, length)));
    return accepted(c, id, st.offset);
  }
  return accepted(c, id, status.offset);
};

/** Link a blob from another repository (or, without `from`, from anywhere the caller may read). */
async function tryMount(c: RequestContext, mount: string, from: string | null): Promise<string | null> {
  const d = parseDigest(mount);
  if (from !== null) {
    let source: string;
    try {
      source = parseName(from);
    } catch {
      return null; // a bad `from` falls back to an upload session, as the spec allows
    }
    // Access is the name the client gave; the links are where that name keeps them (a proxied name's cache).
    if (!(await c.mayPull(source)) || !(await c.storage.blobs.exists(await linkedNameOf(c, source), d))) return null;
  } else if (!(await c.mayPullAll()) || !(await c.storage.blobs.stat(d))) {
    return null;
  }
  await c.storage.blobs.link(c.name, d);
  return d.toString();
}

export const patchUpload: Handler = async (c) => {
  const length = bodyLength(c);
  checkChunkSize(c, length);
  const start = chunkStart(c, length);
  const body = bodyOf(c, length) ?? new Blob([]).stream();
  const st = await limited(c, body, length, (b) => resumable(c.sessions.append(c.params.session, c.name, b!, start, length)));
  return accepted(c, c.params.session, st.offset);
};

export const finishUpload: Handler = async (c) => {
  const digest = c.url.searchParams.get("digest");
  if (!digest) throw new RegistryError("DIGEST_INVALID", "the final PUT needs ?digest=");
  const d = parseDigest(digest);
  const length = bodyLength(c);
  checkChunkSize(c, length);
  const start = chunkStart(c, length);
  const blob = await limited(c, bodyOf(c, length), length, (b) => resumable(c.sessions.finish(c.params.session, c.name, d.toString(), b, start, length)));
  c.metrics.count(METRICS.upload_commits, 1, { kind: blob.digestPath, repository: c.name });
  c.log.set({ digestPath: blob.digestPath });
  return created(c.name, blob.digest);
};

export const uploadStatus: Handler = async (c) => {
  const st = await c.sessions.status(c.params.session, c.name);
  return accepted(c, c.params.session, st.offset, 204);
};

export const cancelUpload: Handler = async (c) => {
  await c.sessions.cancel(c.params.session, c.name);
  return new Response(null, { status: 204 });
};
