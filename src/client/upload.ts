/**
 * Blob pushes: skip what is there, mount, monolithic POST, and chunked PATCHes that survive failures.
 *
 * Chunked protocol (client side)
 * ------------------------------
 * 1. POST /v2/<repo>/blobs/uploads/ → 202, Location, and the registry's chunk bounds
 *    (`OCI-Chunk-Min-Length`, `OCI-Chunk-Max-Length`). The chunk size is the requested one (default
 *    16 MiB) raised to the minimum and lowered to the maximum, so every PATCH fits under the edge's
 *    body limit.
 * 2. For each chunk: PATCH <Location> with `Content-Range: <start>-<end>` and the chunk (held in memory:
 *    one chunk, never the blob), then follow the new Location.
 * 3. When a PATCH fails (network error, 5xx, 416) the client asks the session where it stands
 *    (GET <Location> → `Range: 0-<last>`), waiting with backoff for the registry to come back, for up to
 *    `resumeTimeoutMs`. It then continues from that offset: from inside the chunk it holds, or, if the
 *    registry fell back behind the chunk, by re-reading the source from the start (sources are
 *    re-openable) and skipping to the offset. A session that is gone (404) restarts the push once.
 * 4. PUT <Location>?digest=<sha256 of everything sent> with an empty body. If that response is lost and
 *    the retry finds the session gone, a HEAD of the blob tells whether the commit happened.
 * The digest is computed while streaming, so a layer compressed on the fly needs only one pass.
 */
import { errorFromResponse, NetworkError, RegistryClientError } from "./errors";
import type { IncrementalHash } from "./hash";
import { pushScope, type RegistryClient } from "./registry";
import { backoffDelay, sleep } from "./transport";

export const DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024;
/**
 * Largest blob sent in one POST (?digest=) without asking the registry for its chunk bounds first: below
 * R2's 5 MiB minimum part, so under any chunk maximum a registry can sensibly advertise. A registry that
 * still refuses it (413) gets a chunked upload instead.
 */
export const MONOLITHIC_MAX = 4 * 1024 * 1024;

/** Bytes that can be read again from the start (a file, a file piped through gzip). */
export interface BlobSource {
  open(): AsyncIterable<Uint8Array>;
}

export interface PushBlobOptions {
  /** Known digest: lets the push skip a blob the repository has and mount from `mountFrom`. */
  digest?: string;
  size?: number;
  mountFrom?: string[];
  /** Requested chunk size; clamped to what the registry advertises. */
  chunkSize?: number;
  /** Always use a chunked session, even for a blob smaller than one chunk. */
  forceChunked?: boolean;
  onProgress?: (sent: number, total?: number) => void;
  resumeTimeoutMs?: number;
}

export interface PushedBlob {
  digest: string;
  size: number;
  /** "exists" (already in the repository), "mounted", or "uploaded". */
  how: "exists" | "mounted" | "uploaded";
  /** Chunk size the upload used (0 for a monolithic one). */
  chunkSize: number;
  /** Times the upload re-synchronised with its session after a failure. */
  resumes: number;
}

export function clampChunkSize(requested: number, min: number | null, max: number | null): number {
  let size = requested;
  if (min && size < min) size = min;
  if (max && size > max) size = max;
  return size;
}

/** Push a blob; see the protocol in the header. */
export async function pushBlob(client: RegistryClient, repo: string, source: BlobSource, opts: PushBlobOptions = {}): Promise<PushedBlob> {
  const requested = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (opts.digest) {
    const size = await client.headBlob(repo, opts.digest);
    if (size !== null) return { digest: opts.digest, size, how: "exists", chunkSize: 0, resumes: 0 };
    for (const from of opts.mountFrom ?? []) {
      if (from !== repo && (await client.mountBlob(repo, opts.digest, from))) {
        return { digest: opts.digest, size: opts.size ?? (await client.headBlob(repo, opts.digest)) ?? 0, how: "mounted", chunkSize: 0, resumes: 0 };
      }
    }
    if (!opts.forceChunked && opts.size !== undefined && opts.size <= Math.min(requested, MONOLITHIC_MAX)) {
      const done = await pushMonolithic(client, repo, source, opts.digest, opts.size, opts.onProgress);
      if (done) return done;
    }
  }
  return new ChunkedUpload(client, repo, source, requested, opts).run();
}

/** One POST with the whole blob; null when the registry refuses the body as too large (413). */
async function pushMonolithic(client: RegistryClient, repo: string, source: BlobSource, digest: string, size: number, onProgress?: PushBlobOptions["onProgress"]): Promise<PushedBlob | null> {
  const body = new Uint8Array(size);
  let pos = 0;
  for await (const chunk of source.open()) {
    if (pos + chunk.byteLength > size) throw new Error(`blob ${digest} is larger than its declared ${size} bytes`);
    body.set(chunk, pos);
    pos += chunk.byteLength;
  }
  if (pos !== size) throw new Error(`blob ${digest} is ${pos} bytes, declared ${size}`);
  const res = await client.transport.request({
    method: "POST", url: `/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(digest)}`,
    headers: { "Content-Type": "application/octet-stream", "Content-Length": String(size) },
    body, scopes: pushScope(repo), idempotent: true,
  });
  if (res.status === 413) {
    await res.body?.cancel();
    return null;
  }
  if (res.status !== 201 && res.status !== 202) throw await errorFromResponse(res, `push blob ${digest}`);
  await res.body?.cancel();
  if (res.status === 202) {
    // The registry opened a session instead (allowed by the spec): finish it with a PUT.
    const loc = res.headers.get("Location");
    if (!loc) throw new Error(`push blob ${digest}: 202 without Location`);
    const put = await client.transport.expect({
      method: "PUT", url: withDigest(loc, digest), headers: { "Content-Length": String(size), "Content-Type": "application/octet-stream" },
      body, scopes: pushScope(repo), idempotent: false,
    }, [201], `push blob ${digest}`);
    await put.body?.cancel();
  }
  onProgress?.(size, size);
  return { digest, size, how: "uploaded", chunkSize: 0, resumes: 0 };
}

function withDigest(location: string, digest: string): string {
  return `${location}${location.includes("?") ? "&" : "?"}digest=${encodeURIComponent(digest)}`;
}

/**
 * Cuts a byte stream into chunks of exactly `size` bytes (the last may be shorter). Chunks come from a
 * ring of three buffers: a chunk stays valid while the next one is being filled (the upload loop holds at
 * most the chunk it sends and the one read ahead), so memory stays at three chunks whatever the blob size.
 */
async function* rechunk(input: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  const ring: Uint8Array[] = [];
  let turn = 0;
  const buffer = () => (ring[turn % 3] ??= new Uint8Array(size));
  let buf = buffer();
  let fill = 0;
  for await (const piece of input) {
    let off = 0;
    while (off < piece.byteLength) {
      const n = Math.min(size - fill, piece.byteLength - off);
      buf.set(piece.subarray(off, off + n), fill);
      fill += n;
      off += n;
      if (fill === size) {
        yield buf;
        turn++;
        buf = buffer();
        fill = 0;
      }
    }
  }
  if (fill > 0) yield buf.subarray(0, fill);
}

class SessionGone extends Error {}

class ChunkedUpload {
  private location = "";
  private chunkSize = 0;
  private resumes = 0;

  constructor(
    private client: RegistryClient,
    private repo: string,
    private source: BlobSource,
    private requested: number,
    private opts: PushBlobOptions,
  ) {}

  private get t() {
    return this.client.transport;
  }

  async run(): Promise<PushedBlob> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.start();
        const { digest, size } = await this.sendAll();
        await this.commit(digest);
        return { digest, size, how: "uploaded", chunkSize: this.chunkSize, resumes: this.resumes };
      } catch (err) {
        if (!(err instanceof SessionGone) || attempt >= 1) throw err;
      }
    }
  }

  private async start(): Promise<void> {
    const res = await this.t.expect({
      method: "POST", url: `/v2/${this.repo}/blobs/uploads/`, headers: { "Content-Length": "0" },
      scopes: pushScope(this.repo), idempotent: true,
    }, [202], `start upload to ${this.repo}`);
    await res.body?.cancel();
    this.location = this.locationOf(res);
    const min = Number(res.headers.get("OCI-Chunk-Min-Length")) || null;
    const max = Number(res.headers.get("OCI-Chunk-Max-Length")) || null;
    this.chunkSize = clampChunkSize(this.requested, min, max);
  }

  private locationOf(res: Response): string {
    const loc = res.headers.get("Location");
    if (!loc) throw new Error(`upload to ${this.repo}: registry sent no Location`);
    return this.t.resolve(loc);
  }

  /** Send every byte of the source; returns its digest and size. */
  private async sendAll(): Promise<{ digest: string; size: number }> {
    let resumeAt = 0;
    for (;;) {
      const hash = this.client.createHash();
      const out = await this.sendFrom(resumeAt, hash);
      if (out.rewindTo === undefined) return { digest: await hash.digest(), size: out.size };
      resumeAt = out.rewindTo;
    }
  }

  /**
   * Read the source from the start, hashing everything, sending what lies at or after `offset`.
   * Returns `rewindTo` when the session fell back before the bytes this pass still holds.
   */
  private async sendFrom(offset: number, hash: IncrementalHash): Promise<{ size: number; rewindTo?: number }> {
    let pos = 0; // source position of the chunk's first byte
    let acked = offset; // bytes the session holds
    const chunks = rechunk(this.source.open(), this.chunkSize);
    // The next chunk is read (and, for a layer compressed on the fly, compressed) while this one uploads.
    let next = chunks.next();
    next.catch(() => {});
    try {
      for (;;) {
        const r = await next;
        if (r.done) break;
        const chunk = r.value;
        next = chunks.next();
        next.catch(() => {});
        hash.update(chunk);
        const end = pos + chunk.byteLength;
        while (acked < end) {
          if (acked < pos) return { size: 0, rewindTo: acked };
          acked = await this.patch(chunk.subarray(acked - pos), acked);
          this.opts.onProgress?.(Math.min(acked, end), this.opts.size);
        }
        pos = end;
      }
    } finally {
      // Stop reading the source when leaving early (rewind or error); wait for a read in flight first.
      await next.catch(() => {});
      await chunks.return(undefined);
    }
    if (acked > pos) throw new Error(`upload to ${this.repo}: session holds ${acked} bytes but the source has only ${pos}`);
    return { size: pos };
  }

  /** PATCH one piece at `start`; returns the session's offset afterwards (re-synchronising on failure). */
  private async patch(piece: Uint8Array, start: number): Promise<number> {
    try {
      const res = await this.t.send({
        method: "PATCH", url: this.location,
        headers: {
          "Content-Type": "application/octet-stream",
          "Content-Range": `${start}-${start + piece.byteLength - 1}`,
          "Content-Length": String(piece.byteLength),
        },
        body: piece, scopes: pushScope(this.repo), idempotent: false,
      });
      await res.body?.cancel();
      if (res.status === 202) {
        this.location = this.locationOf(res);
        return offsetOf(res.headers.get("Range")) ?? start + piece.byteLength;
      }
      if (res.status === 404) throw new SessionGone();
      if (res.status !== 416 && res.status < 500 && res.status !== 429) throw await errorFromResponse(res, `upload chunk to ${this.repo}`);
    } catch (err) {
      if (!(err instanceof NetworkError)) throw err;
    }
    this.resumes++;
    return this.status();
  }

  /** Where the session stands, waiting (with backoff) for the registry to answer. */
  private async status(): Promise<number> {
    const deadline = Date.now() + (this.opts.resumeTimeoutMs ?? 120_000);
    for (let attempt = 0; ; attempt++) {
      await sleep(backoffDelay(Math.min(attempt, 6), this.t.retry));
      try {
        const res = await this.t.send({ method: "GET", url: this.location, scopes: pushScope(this.repo), idempotent: true });
        await res.body?.cancel();
        if (res.status === 204 || res.status === 202 || res.status === 200) {
          const loc = res.headers.get("Location");
          if (loc) this.location = this.t.resolve(loc);
          return offsetOf(res.headers.get("Range")) ?? 0;
        }
        if (res.status === 404) throw new SessionGone();
        if (res.status < 500 && res.status !== 429) throw await errorFromResponse(res, `upload status in ${this.repo}`);
      } catch (err) {
        if (!(err instanceof NetworkError)) throw err;
      }
      if (Date.now() > deadline) throw new Error(`upload to ${this.repo}: registry did not come back to resume the upload`);
    }
  }

  private async commit(digest: string): Promise<void> {
    const deadline = Date.now() + (this.opts.resumeTimeoutMs ?? 120_000);
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.t.send({
          method: "PUT", url: withDigest(this.location, digest), headers: { "Content-Length": "0" },
          scopes: pushScope(this.repo), idempotent: false,
        });
        if (res.status === 201) {
          await res.body?.cancel();
          return;
        }
        if (res.status === 404 && (await this.client.headBlob(this.repo, digest)) !== null) return;
        if (res.status < 500 && res.status !== 429) throw await errorFromResponse(res, `finish upload of ${digest}`);
        await res.body?.cancel();
      } catch (err) {
        if (!(err instanceof NetworkError)) throw err;
      }
      if (Date.now() > deadline) throw new RegistryClientError(503, [], `finish upload of ${digest}`);
      this.resumes++;
      await sleep(backoffDelay(Math.min(attempt, 6), this.t.retry));
    }
  }
}

/** "0-<last>" → last + 1 bytes held ("0-0" on an empty session is 0 by convention, see below). */
export function offsetOf(range: string | null): number | null {
  if (!range) return null;
  const m = /^(?:bytes=)?(\d+)-(\d+)$/.exec(range.trim());
  if (!m) return null;
  const end = Number(m[2]);
  // Registries answer "0-0" for an empty session as distribution does; Wharf also does so. A session
  // that holds exactly one byte would read "0-0" too; the ambiguity costs at most a 416 and a resync.
  return end === 0 ? 0 : end + 1;
}
