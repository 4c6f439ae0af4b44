/**
 * Blob storage: the global content index, per-repository links, and the physical data objects.
 *
 * A blob becomes visible under its digest in three named steps (distribution's blobwriter pattern):
 *   1. the bytes are complete in data/<id> and their digest has been verified: by a BlobWriter
 *      (blob-writer.ts, which owns the whole sequence), or by R2's checksum (putVerified);
 *   2. index: the content index blobs/<alg>/<hex> is created only if absent (conditional put), so two
 *      uploads of the same content keep exactly one copy, and the loser deletes its own data object;
 *   3. link: repositories/<name>/_layers/<alg>/<hex> lets that repository serve it.
 * Nothing is ever visible under a digest before its bytes are whole and verified.
 *
 * Garbage collection (src/worker/gc/coordinator.ts has the protocol): the index entry and the links may
 * be condemned by a GC run. Every read on the push path (statInRepo: HEAD, reference checks, mounts)
 * revives what it finds condemned, the index and link steps revive an existing entry instead of
 * overwriting it and never overwrite a tombstone (storage/condemnation.ts), and while a run is active a
 * new link is re-checked after it is written (`confirm`), so a run that condemned it meanwhile sees it
 * revived.
 */
import { DomainError } from "../domain-errors";
import type { Digest } from "../../oci/grammar";
import { type BlobDraft, BlobWriter, type WriterOptions } from "./blob-writer";
import { gcActive, headLive, place, stateOf } from "./condemnation";
import { paths } from "./paths";
import { R2_BAD_DIGEST, r2ErrorCode } from "./r2-errors";

export interface BlobInfo {
  digest: Digest;
  size: number;
  /** The physical object holding the bytes. */
  dataKey: string;
}

export interface ByteRange {
  offset: number;
  length: number;
}

export class BlobStore {
  constructor(private readonly bucket: R2Bucket) {}

  /** The blob as the content index knows it, in any repository. */
  async stat(digest: Digest): Promise<BlobInfo | null> {
    const idx = await this.bucket.head(paths.blobIndex(digest));
    return idx && stateOf(idx) !== "tombstone" ? infoOf(digest, idx) : null;
  }

  /**
   * The blob, if this repository may serve it. Reviving: the caller (a HEAD before a push, a reference
   * check, a mount) may rely on it from here, so a condemned index entry or link is brought back.
   */
  async statInRepo(name: string, digest: Digest): Promise<BlobInfo | null> {
    const body = digest.toString();
    // The link first: most misses (a HEAD before a push, a mount of a blob this repository never had)
    // end there with one read. The index is read only when the link exists, and both are revived.
    const link = await headLive(this.bucket, paths.layerLink(name, digest), body);
    if (!link) return null;
    const idx = await headLive(this.bucket, paths.blobIndex(digest), body);
    return idx ? infoOf(digest, idx) : null;
  }

  /**
   * After a reference to these blobs was written (a manifest, a link): while a GC run is active, look at
   * them again and revive what it condemned meanwhile. Returns the digests no longer there (GC won: only
   * possible when the caller took longer than GC_CONDEMN_SECONDS since it first saw them).
   */
  async confirm(name: string, digests: Digest[]): Promise<Digest[]> {
    if (!digests.length || !(await gcActive(this.bucket, paths.gcActive()))) return [];
    const missing: Digest[] = [];
    await Promise.all(digests.map(async (d) => {
      if (!(await this.statInRepo(name, d))) missing.push(d);
    }));
    return missing;
  }

  async exists(name: string, digest: Digest): Promise<boolean> {
    return (await this.statInRepo(name, digest)) !== null;
  }

  /** The bytes (or a range of them). */
  async open(info: BlobInfo, range?: ByteRange): Promise<ReadableStream> {
    const obj = await this.bucket.get(info.dataKey, range ? { range } : undefined);
    if (!obj) throw new DomainError("BLOB_UNKNOWN", `blob data missing for ${info.digest}`);
    return obj.body;
  }

  /** A writer for a new blob, in parts of `partSize` bytes (blob-writer.ts). */
  writer(partSize: number, options?: WriterOptions): BlobWriter {
    return new BlobWriter(this.bucket, this, BlobWriter.newDraft(paths.newData(), partSize), options);
  }

  /** The writer of a saved draft; `options.size` and `options.hasher` say what it holds so far. */
  resumeWriter(draft: BlobDraft, options: WriterOptions): BlobWriter {
    return new BlobWriter(this.bucket, this, draft, options);
  }

  /**
   * Store a whole blob whose digest the client declared up front (monolithic upload). R2 verifies the
   * checksum while writing, so a mismatch stores nothing.
   */
  async putVerified(name: string, digest: Digest, body: ReadableStream, size: number): Promise<BlobInfo> {
    const dataKey = paths.newData();
    const sized = new FixedLengthStream(size);
    const piping = body.pipeTo(sized.writable).catch(() => undefined);
    try {
      await this.bucket.put(dataKey, sized.readable, { [digest.algorithm]: digest.hex });
    } catch (err) {
      await this.bucket.delete(dataKey).catch(() => undefined);
      if (r2ErrorCode(err) === R2_BAD_DIGEST) {
        throw new DomainError("DIGEST_MISMATCH", `uploaded content does not match digest ${digest}`);
      }
      throw new DomainError("UPLOAD_INCOMPLETE", `upload did not complete: ${String((err as Error)?.message ?? err)}`);
    } finally {
      await piping;
    }
    return this.commit(name, digest, dataKey, size);
  }

  /** Steps 2 and 3, for verified bytes in `dataKey` only (BlobWriter.commit and putVerified). */
  async commit(name: string, digest: Digest, dataKey: string, size: number): Promise<BlobInfo> {
    const info = await this.index(digest, dataKey, size);
    await this.link(name, digest);
    return info;
  }

  /**
   * Create the content index entry if absent. When another upload of the same content won, keep its copy
   * and delete ours. Should the winner's entry vanish between the two steps (a delete racing us), try again,
   * so a link is never written for a digest without an index entry.
   */
  private async index(digest: Digest, dataKey: string, size: number): Promise<BlobInfo> {
    const { obj, created } = await place(this.bucket, paths.blobIndex(digest), digest.toString(), { data: dataKey, size: String(size) });
    if (created) return { digest, size, dataKey };
    const existing = infoOf(digest, obj); // another upload's copy (revived if GC had condemned it)
    if (existing.dataKey !== dataKey) await this.bucket.delete(dataKey);
    return existing;
  }

  /** Let `name` serve the blob (a commit or a mount); a condemned link is revived, not overwritten. */
  async link(name: string, digest: Digest): Promise<void> {
    await place(this.bucket, paths.layerLink(name, digest), digest.toString());
    if ((await this.confirm(name, [digest])).length) {
      throw new DomainError("GC_COLLECTING", `blob ${digest} was removed by garbage collection meanwhile; push it again`);
    }
  }

  /** Remove the repository's link; the bytes stay for other repositories (and for garbage collection). */
  async unlink(name: string, digest: Digest): Promise<boolean> {
    const key = paths.layerLink(name, digest);
    if (!(await this.bucket.head(key))) return false;
    await this.bucket.delete(key);
    return true;
  }
}

function infoOf(digest: Digest, idx: R2Object): BlobInfo {
  const meta = idx.customMetadata ?? {};
  return { digest, size: Number(meta.size), dataKey: meta.data };
}
