/**
 * Condemn and sweep: the R2 writes of a run, in bounded batches. The order of operations and why it is
 * safe beside pushes is the protocol in coordinator.ts; the per-object transitions are
 * storage/condemnation.ts.
 *
 * condemn  each candidate index entry and stray link: live → condemned, only if its etag is still the
 *          one the inventory listed (else someone touched it: it is dropped from the run);
 * sweep    each still-condemned candidate: condemned → tombstone (only if nobody revived it), then its
 *          links and data object are deleted, and last the index entry itself; stray links likewise;
 *          orphaned data objects are deleted outright (no session can still commit them).
 */
import { parseDigest } from "../../oci/grammar";
import { condemn, entomb, pardon } from "../storage/condemnation";
import { paths } from "../storage/paths";
import { type Budget, pool } from "./budget";
import type { GcDb } from "./db";

const BATCH = 100;
/** R2 delete takes up to 1,000 keys per call. */
const DELETE_KEYS = 1000;

/** Lift the condemned mark of content the run no longer wants (pardoned, or referenced after a failed run). */
export async function pardonAll(
  budget: Budget,
  blobs: { digest: string; cetag: string | null }[],
  links: { repo: string; digest: string; cetag: string | null }[],
): Promise<void> {
  await pool(blobs, 6, async (b) => {
    if (b.cetag) await pardon(budget.bucket, paths.blobIndex(parseDigest(b.digest)), b.cetag, b.digest);
  });
  await pool(links, 6, async (l) => {
    if (l.cetag) await pardon(budget.bucket, paths.layerLink(l.repo, parseDigest(l.digest)), l.cetag, l.digest);
  });
}

/** Condemn candidates not yet condemned. Returns true when none are left. */
export async function condemnSome(budget: Budget, db: GcDb, runId: string): Promise<boolean> {
  for (;;) {
    const n = Math.min(BATCH, Math.floor(budget.left / 2)); // condemn() is a head and a put
    if (n <= 0) return false;
    const blobs = db.all<{ digest: string; etag: string }>("SELECT digest, etag FROM b WHERE cand = 1 AND cetag IS NULL LIMIT ?", n);
    const links = blobs.length
      ? []
      : db.all<{ repo: string; digest: string; etag: string }>("SELECT repo, digest, etag FROM l WHERE cand = 1 AND cetag IS NULL LIMIT ?", n);
    if (!blobs.length && !links.length) return true;
    await pool(blobs, 6, async (b) => {
      const put = await condemn(budget.bucket, paths.blobIndex(parseDigest(b.digest)), b.etag, b.digest, runId);
      if (put) db.run("UPDATE b SET cetag = ? WHERE digest = ?", put.etag, b.digest);
      else db.run("UPDATE b SET cand = 0 WHERE digest = ?", b.digest); // changed since listed: not this run's
    });
    await pool(links, 6, async (l) => {
      const put = await condemn(budget.bucket, paths.layerLink(l.repo, parseDigest(l.digest)), l.etag, l.digest, runId);
      if (put) db.run("UPDATE l SET cetag = ? WHERE repo = ? AND digest = ?", put.etag, l.repo, l.digest);
      else db.run("UPDATE l SET cand = 0 WHERE repo = ? AND digest = ?", l.repo, l.digest);
    });
  }
}

export interface Removed {
  blob(digest: string, size: number): void;
  links(n: number): void;
  data(key: string, size: number): void;
  /** A condemned candidate that a push revived before it could be entombed. */
  revived(): void;
}

/** Entomb and delete what is still condemned; then orphaned data. Returns true when done. */
export async function sweepSome(budget: Budget, db: GcDb, runId: string, removed: Removed): Promise<boolean> {
  for (;;) {
    // Per blob: an entomb, and its share of two delete calls; keep room for those calls.
    const n = Math.min(BATCH, budget.left - 3);
    if (n <= 0) return false;
    const blobs = db.all<{ digest: string; cetag: string | null; data: string; size: number; cand: number }>(
      "SELECT digest, cetag, data, size, cand FROM b WHERE (cand = 1 AND cetag IS NOT NULL) OR cand = 2 LIMIT ?",
      n,
    );
    if (blobs.length) {
      const won: typeof blobs = [];
      await pool(blobs, 6, async (b) => {
        const key = paths.blobIndex(parseDigest(b.digest));
        const ok = b.cand === 2 || (await entomb(budget.bucket, key, b.cetag!, b.digest, runId, { data: b.data, size: String(b.size) }));
        if (ok) won.push(b);
        else {
          db.run("UPDATE b SET cand = 0 WHERE digest = ?", b.digest); // revived: a push needs it
          removed.revived();
        }
      });
      // Links and data first, the index entry (the tombstone) last: while it stands, no writer links the digest.
      const hanging: string[] = [];
      let links = 0;
      for (const b of won) {
        for (const l of db.all<{ repo: string }>("SELECT repo FROM l WHERE digest = ?", b.digest)) {
          hanging.push(paths.layerLink(l.repo, parseDigest(b.digest)));
          links++;
        }
        if (b.data) hanging.push(b.data);
      }
      for (let i = 0; i < hanging.length; i += DELETE_KEYS) await budget.bucket.delete(hanging.slice(i, i + DELETE_KEYS));
      if (won.length) await budget.bucket.delete(won.map((b) => paths.blobIndex(parseDigest(b.digest))));
      for (const b of won) {
        removed.blob(b.digest, b.size);
        db.run("DELETE FROM l WHERE digest = ?", b.digest);
        db.run("UPDATE b SET cand = 3 WHERE digest = ?", b.digest);
      }
      removed.links(links);
      continue;
    }
    const links = db.all<{ repo: string; digest: string; cetag: string }>("SELECT repo, digest, cetag FROM l WHERE cand = 1 AND cetag IS NOT NULL LIMIT ?", n);
    if (links.length) {
      const won: string[] = [];
      await pool(links, 6, async (l) => {
        const key = paths.layerLink(l.repo, parseDigest(l.digest));
        if (await entomb(budget.bucket, key, l.cetag, l.digest, runId)) won.push(key);
        else removed.revived();
        db.run("UPDATE l SET cand = 3 WHERE repo = ? AND digest = ?", l.repo, l.digest);
      });
      if (won.length) await budget.bucket.delete(won);
      removed.links(won.length);
      continue;
    }
    const data = db.all<{ key: string; size: number }>("SELECT key, size FROM d WHERE cand = 1 LIMIT ?", Math.min(DELETE_KEYS, n * 10));
    if (!data.length) return true;
    await budget.bucket.delete(data.map((d) => d.key));
    for (const d of data) {
      removed.data(d.key, d.size);
      db.run("UPDATE d SET cand = 3 WHERE key = ?", d.key);
    }
  }
}
