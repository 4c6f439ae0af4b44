/**
 * Mark: from the inventory, what the run would remove. Pure SQL over the coordinator's storage, no R2.
 *
 * b.cand = 1  blob: referenced by no surviving manifest of any repository, its index entry older than the
 *             grace period, and no link to it younger than that (a blob pushed, its manifest not yet);
 * b.cand = 2  blob already entombed by an earlier, interrupted run: finish deleting it;
 * l.cand = 1  stray link: referenced by no surviving manifest of its repository and older than the grace
 *             period, while the blob itself stays (links of a candidate blob go with the blob);
 * d.cand = 1  data object no index entry names, older than the orphan cutoff (see coordinator.ts).
 * "Surviving": not doomed by retention (in a dry run, doomed manifests count as gone too).
 */
import type { GcDb } from "./db";

export interface Cutoffs {
  /** Index entries and links uploaded before this (ms) may be collected. */
  grace: number;
  /** Data objects uploaded before this (ms) may be collected when no index entry names them. */
  orphan: number;
}

export function mark(db: GcDb, cut: Cutoffs): void {
  db.run("UPDATE b SET cand = 0, cetag = NULL");
  db.run("UPDATE l SET cand = 0, cetag = NULL");
  db.run("UPDATE d SET cand = 0");
  db.run("DELETE FROM live");
  db.run(
    `INSERT OR IGNORE INTO live (repo, blob) SELECT mb.repo, mb.blob FROM mb
     JOIN m ON m.repo = mb.repo AND m.digest = mb.manifest WHERE m.doomed = 0`,
  );
  db.run(
    `UPDATE b SET cand = 1 WHERE state != 'tombstone' AND uploaded < ?
       AND NOT EXISTS (SELECT 1 FROM live WHERE live.blob = b.digest)
       AND NOT EXISTS (SELECT 1 FROM l WHERE l.digest = b.digest AND (l.uploaded >= ? OR l.fresh = 1))`,
    cut.grace,
    cut.grace,
  );
  db.run("UPDATE b SET cand = 2 WHERE state = 'tombstone'");
  db.run(
    `UPDATE l SET cand = 1 WHERE state != 'tombstone' AND uploaded < ? AND fresh = 0
       AND NOT EXISTS (SELECT 1 FROM live WHERE live.repo = l.repo AND live.blob = l.digest)
       AND NOT EXISTS (SELECT 1 FROM b WHERE b.digest = l.digest AND b.cand > 0)`,
    cut.grace,
  );
  db.run("UPDATE d SET cand = 1 WHERE uploaded < ? AND NOT EXISTS (SELECT 1 FROM b WHERE b.data = d.key)", cut.orphan);
  db.run("DELETE FROM live");
}

/**
 * After the recheck: candidates that a fresh manifest references, or that a fresh link points at, are
 * pardoned (cand = 0). Returns the rows whose R2 marks must be lifted (they were condemned).
 */
export function pardonFresh(db: GcDb): { blobs: { digest: string; cetag: string; data: string; size: number }[]; links: { repo: string; digest: string; cetag: string }[] } {
  const blobs = db.all<{ digest: string; cetag: string; data: string; size: number }>(
    `SELECT digest, cetag, data, size FROM b WHERE cand = 1 AND (
       EXISTS (SELECT 1 FROM mb JOIN m ON m.repo = mb.repo AND m.digest = mb.manifest WHERE m.fresh = 1 AND mb.blob = b.digest)
       OR EXISTS (SELECT 1 FROM l WHERE l.digest = b.digest AND l.fresh = 1))`,
  );
  const links = db.all<{ repo: string; digest: string; cetag: string }>(
    `SELECT repo, digest, cetag FROM l WHERE cand = 1 AND (
       EXISTS (SELECT 1 FROM mb JOIN m ON m.repo = mb.repo AND m.digest = mb.manifest WHERE m.fresh = 1 AND mb.repo = l.repo AND mb.blob = l.digest)
       OR fresh = 1)`,
  );
  for (const b of blobs) db.run("UPDATE b SET cand = 0 WHERE digest = ?", b.digest);
  for (const l of links) db.run("UPDATE l SET cand = 0 WHERE repo = ? AND digest = ?", l.repo, l.digest);
  return { blobs: blobs.filter((b) => b.cetag), links: links.filter((l) => l.cetag) };
}

export interface Totals {
  blobs: number;
  blobBytes: number;
  links: number;
  dataObjects: number;
  dataBytes: number;
}

/** What the candidates add up to (a dry run's answer; a real run counts what it actually removed). */
export function candidateTotals(db: GcDb): Totals {
  const b = db.one<{ n: number; bytes: number }>("SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM b WHERE cand > 0")!;
  const linksOfBlobs = db.one<{ n: number }>("SELECT COUNT(*) AS n FROM l WHERE digest IN (SELECT digest FROM b WHERE cand > 0)")!;
  const stray = db.one<{ n: number }>("SELECT COUNT(*) AS n FROM l WHERE cand = 1")!;
  const d = db.one<{ n: number; bytes: number }>("SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM d WHERE cand = 1")!;
  return { blobs: b.n, blobBytes: b.bytes, links: linksOfBlobs.n + stray.n, dataObjects: d.n, dataBytes: d.bytes };
}
