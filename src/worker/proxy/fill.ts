/**
 * BlobFill: the Durable Object that fetches one missing blob from its upstream into R2, once, however many
 * requests in however many isolates ask for it at the same time (distribution's in-flight map, made global:
 * one object per digest, `idFromName(digest)`).
 *
 * Fill protocol
 * -------------
 * - A Worker that misses a blob in a cache repository (no link there, no bytes anywhere) calls `fill` on
 *   the object of that digest with the upstream's prefix, the upstream repository and the cache repository;
 *   credentials never travel: the object reads UPSTREAMS from its own environment.
 * - The first call becomes the leader. Synchronously, before any await, it installs the in-flight job, so
 *   every later call (a follower) sees it and waits for its end instead of going upstream. The leader then:
 *     1. checks the content index: bytes already there (a fill that finished just before) → "stored";
 *     2. GETs the blob upstream (redirects followed without credentials); an upstream error ends the job
 *        with the mapped OCI error, which every waiting follower gets too;
 *     3. for a fill in parts (size unknown, or above the single-put limit) records {dataKey, uploadId?} in
 *        its storage and arms an alarm (see below). A fill of known size is one R2 put and records
 *        nothing: should the object die after that put and before step 6 indexes it, the data object is
 *        unreferenced, and garbage collection's orphan sweep removes it (gc/mark.ts), as it does for an
 *        upload's commit that fails there. So such a fill writes nothing to the object's storage;
 *     4. streams the body in 1 MiB chunks into the storage BlobWriter (storage/blob-writer.ts: hashed on
 *        the way; one streamed put up to 4 GiB with a known size, else equal multipart parts as uploads
 *        are), each chunk also queued for the leader's own client (ClientFeed, bounded; the last chunk is
 *        held back). More bytes than the upstream's Content-Length, fewer, or a digest mismatch: the
 *        writer is cancelled (nothing stored), the client's stream errors (it never receives the last
 *        chunk, so it cannot take a wrong blob for a whole one), and the job fails with UPSTREAM_INVALID;
 *     5. as soon as the running hash has seen every byte and matches the digest, the held-back chunk
 *        goes to the client and its stream closes: its copy is verified, and it does not wait for R2
 *        (should storing fail after that, the client still has the right bytes; the next pull fills
 *        again). Without that early answer (sha512, a mismatch) the client waits for step 6;
 *     6. BlobWriter.commit: digest verified (the same hash, or read back), then content index if
 *        absent, then the cache repository's link; then the held-back chunk goes to the client if it
 *        has not; the job resolves; followers answer "stored" and their Workers serve the blob from R2
 *        like any cached blob.
 *   The leader's call returns as soon as the upstream answered (step 2): its Worker streams the body to
 *   the client, through a FixedLengthStream of the upstream's Content-Length, while the object keeps
 *   filling. (A stream that errors in this object can reach the Worker as a plain end; the fixed length
 *   turns that into a broken body. Without a Content-Length the leader waits as a follower does.) A client that disconnects detaches its feed; the fill runs
 *   to its end inside the Durable Object, which is not cancelled with the Worker's request (it stays
 *   alive while its job does I/O). A request with Range (a resumed pull) waits for the fill as a
 *   follower would, then is served from R2.
 * - A follower whose cache repository differs from the leader's gets "stored"; its Worker confirms the
 *   blob exists in its own upstream repository (HEAD) before linking it there.
 * - Crash or eviction mid-fill in parts: the record of step 3 survives; the alarm (1 hour after the start,
 *   re-armed while a job runs) deletes the data object and aborts the multipart upload unless the
 *   content index names that very object. The in-flight job is memory only: after a restart the next
 *   request leads.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../config";
import { readSettings } from "../settings";
import { DomainError } from "../domain-errors";
import { asRegistryError, type ErrorCode, RegistryError } from "../errors";
import { type Digest, parseDigest } from "../../oci/grammar";
import { WHOLE_OBJECT_MAX_BYTES } from "../storage/blob-writer";
import { BlobStore } from "../storage/blobs";
import { byteChunks } from "../upload/byte-chunks";
import { ClientFeed } from "./client-feed";
import { lyingUpstream, notFoundUpstream, upstreamFailure } from "./failures";
import { upstreamByPrefix } from "./resolve";
import { type UpstreamBlob, UpstreamRegistry } from "./upstream";
import type { Upstream } from "./upstreams";

export interface FillRequest {
  digest: string;
  prefix: string;
  /** Repository on the upstream. */
  repo: string;
  /** Local cache repository the blob is linked into. */
  cacheRepo: string;
  /** Stream the bytes back (the leader's client) rather than only wait for the fill. */
  attach: boolean;
}

/** `already`: the content index had the bytes before this call; nothing was fetched. */
export type FillAnswer = { kind: "stored"; already?: boolean } | { kind: "stream"; size: number; body: ReadableStream<Uint8Array> };
/** A RegistryError as plain data, to cross the RPC boundary. */
export interface WireError {
  code: ErrorCode;
  message: string;
  detail?: unknown;
  headers?: Record<string, string>;
}

export type FillResult = { ok: true; value: FillAnswer } | { ok: false; error: WireError };

export function fromWire(w: WireError): RegistryError {
  return new RegistryError(w.code, w.message, w.detail, w.headers);
}

interface FillRecord {
  digest: string;
  dataKey: string;
  uploadId?: string;
  startedAt: number;
}

const ALARM_MS = 3600_000;

export class BlobFill extends DurableObject<Env> {
  private job: Promise<void> | null = null;

  async fill(req: FillRequest): Promise<FillResult> {
    try {
      return { ok: true, value: await this.run(req) };
    } catch (err) {
      const e = asRegistryError(err);
      if (e) return { ok: false, error: { code: e.code, message: e.message, detail: e.detail, headers: e.headers } };
      throw err;
    }
  }

  private async run(req: FillRequest): Promise<FillAnswer> {
    if (this.job) {
      await this.job;
      return { kind: "stored" };
    }
    let settle!: { resolve: () => void; reject: (e: unknown) => void };
    const job = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    job.catch(() => undefined);
    this.job = job;
    job.then(
      () => (this.job = null),
      () => (this.job = null),
    );
    try {
      const digest = parseDigest(req.digest);
      if (await new BlobStore(this.env.BUCKET).stat(digest)) {
        settle.resolve();
        return { kind: "stored", already: true };
      }
      const upstream = upstreamByPrefix(readSettings(this.env).UPSTREAMS, req.prefix);
      if (!upstream) throw new RegistryError("NAME_UNKNOWN", `no upstream with prefix ${req.prefix}`);
      let blob: UpstreamBlob | null;
      try {
        blob = await new UpstreamRegistry(upstream).getBlob(req.repo, req.digest);
      } catch (e) {
        throw upstreamFailure(upstream, e, "blob", `blob ${req.repo}@${req.digest}`);
      }
      if (!blob) throw notFoundUpstream(upstream, "blob", `blob ${req.repo}@${req.digest}`);
      // Only a blob of known size streams to its first requester: its Worker sends it with that
      // Content-Length, so a fill that fails midway is a short body the client must see as broken. A
      // stream that fails across RPC may reach the Worker as a plain end, which without a length would
      // look complete; a blob of unknown size is therefore waited for and served from R2.
      const feed = req.attach && blob.size !== null ? new ClientFeed() : null;
      this.pump(upstream, req, digest, blob, feed).then(settle.resolve, settle.reject);
      if (!feed) {
        await job;
        return { kind: "stored" };
      }
      return { kind: "stream", size: blob.size!, body: feed.readable };
    } catch (err) {
      settle.reject(err);
      throw err;
    }
  }

  /** Steps 3-6 of the protocol. */
  private async pump(u: Upstream, req: FillRequest, digest: Digest, blob: UpstreamBlob, feed: ClientFeed | null): Promise<void> {
    const what = `blob ${req.repo}@${req.digest}`;
    const writer = new BlobStore(this.env.BUCKET).writer(readSettings(this.env).UPLOAD_PART_SIZE);
    const whole = blob.size !== null && blob.size <= WHOLE_OBJECT_MAX_BYTES;
    const record: FillRecord = { digest: req.digest, dataKey: writer.draft.dataKey, startedAt: Date.now() };
    if (!whole) {
      await this.ctx.storage.put("fill", record);
      await this.ctx.storage.setAlarm(Date.now() + ALARM_MS);
    }
    let held: Uint8Array | null = null;
    let received = 0;
    // The upstream's bytes, counted and checked against its Content-Length, each also queued for the
    // client one chunk late (the last one waits for the digest).
    const self = this;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for await (const chunk of byteChunks(blob.body)) {
        received += chunk.byteLength;
        if (blob.size !== null && received > blob.size) throw lyingUpstream(u, what, `is longer than its Content-Length ${blob.size}`);
        if (held && feed) await feed.push(held);
        held = chunk;
        yield chunk;
        if (writer.draft.uploadId && !record.uploadId) {
          record.uploadId = writer.draft.uploadId;
          await self.ctx.storage.put("fill", record);
        }
      }
      if (blob.size !== null && received !== blob.size) throw lyingUpstream(u, what, `ended after ${received} of its ${blob.size} bytes`);
      // Every byte is hashed by now (the parts path): a client whose copy matches need not wait for R2.
      const hasher = writer.hasher;
      if (hasher && hasher.bytes === received) await release(await hasher.hex());
    }
    // Step 5: the held-back chunk goes out once the hash of every byte matches the digest.
    async function release(sha256Hex: string): Promise<void> {
      if (!feed || !held || digest.algorithm !== "sha256" || sha256Hex !== digest.hex) return;
      await feed.push(held);
      held = null;
      feed.close();
    }
    try {
      if (whole) {
        await writer.putWhole(chunks(), blob.size!, release);
      } else {
        for await (const chunk of chunks()) await writer.write(chunk);
      }
      try {
        await writer.commit(req.cacheRepo, digest);
      } catch (err) {
        if (err instanceof DomainError && err.kind === "DIGEST_MISMATCH") throw lyingUpstream(u, what, "does not match its digest");
        throw err;
      }
      if (held && feed) await feed.push(held);
      feed?.close();
    } catch (err) {
      await writer.cancel().catch(() => undefined);
      const e = asRegistryError(err) ?? upstreamFailure(u, err, "blob", what);
      feed?.fail(new Error(e.message));
      if (!asRegistryError(err)) console.error("proxy: blob fill failed", what, err);
      throw e;
    } finally {
      await blob.body.cancel().catch(() => undefined);
      if (!whole) await this.ctx.storage.delete("fill");
    }
  }

  /** Clean up after a fill that died with its object (see the protocol). */
  async alarm(): Promise<void> {
    if (this.job) {
      await this.ctx.storage.setAlarm(Date.now() + ALARM_MS);
      return;
    }
    const rec = await this.ctx.storage.get<FillRecord>("fill");
    if (!rec) return;
    const bucket = this.env.BUCKET;
    const committed = await new BlobStore(bucket).stat(parseDigest(rec.digest));
    if (committed?.dataKey === rec.dataKey) {
      await this.ctx.storage.delete("fill");
      return;
    }
    if (rec.uploadId) await bucket.resumeMultipartUpload(rec.dataKey, rec.uploadId).abort().catch(() => undefined);
    await bucket.delete(rec.dataKey);
    await this.ctx.storage.delete("fill");
  }
}
