/**
 * Inventory: what a run knows about the bucket, listed into the coordinator's SQLite (db.ts) in bounded
 * steps, each list call returning up to 1,000 keys with their metadata.
 *
 * - repositories/: manifest revisions (with the references recorded in their metadata, manifest-refs.ts,
 *   or marked for a GET), tags (digest from metadata, push time), layer links, and the pull-through
 *   cache's last-pull records (pulledAt from metadata);
 * - blobs/: content index entries (data key, size, state, etag);
 * - data/: physical objects.
 * The order matters for safety: repositories are listed before the content index, so every link seen has
 * its index entry listed too (a commit writes the index entry before the link).
 * `recheck` lists repositories/ again after condemnation and records only what changed since the run
 * began (fresh manifests and links); `fetch` reads the manifests whose references are not in metadata.
 */
import { parseDigest } from "../../oci/grammar";
import { parseManifest } from "../../oci/manifest";
import { decodeRefs } from "../storage/manifest-refs";
import { parseBlobIndexKey, parseRepoKey, paths } from "../storage/paths";
import { stateOf } from "../storage/condemnation";
import { type Budget, pool } from "./budget";
import type { GcDb } from "./db";

const LIST_LIMIT = 1000;

/** One list call per loop, while the budget lasts. Returns true when the prefix is exhausted. */
async function listSome(budget: Budget, db: GcDb, prefix: string, cursorKey: string, each: (o: R2Object) => void): Promise<boolean> {
  while (budget.has(1)) {
    const cursor = db.get(cursorKey);
    // `include` (metadata in list results) is in the runtime since compatibility date 2022-08-04; the
    // project's workers-types entry point predates it.
    const options = { prefix, cursor: cursor || undefined, limit: LIST_LIMIT, include: ["customMetadata", "httpMetadata"] };
    const res = await budget.bucket.list(options as R2ListOptions);
    for (const o of res.objects) each(o);
    if (!res.truncated) {
      db.set(cursorKey, "");
      return true;
    }
    db.set(cursorKey, res.cursor);
  }
  return false;
}

/** Record a manifest revision (fresh: seen by the recheck). */
function recordRevision(db: GcDb, repo: string, digest: string, o: R2Object, fresh: boolean): void {
  const refs = decodeRefs(o.customMetadata);
  const subject = o.customMetadata?.subject ?? null;
  db.run(
    "INSERT OR REPLACE INTO m (repo, digest, uploaded, subject, children, fetch, doomed, fresh) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
    repo, digest, o.uploaded.getTime(), subject, refs ? refs.children.join(",") : "", refs ? 0 : 1, fresh ? 1 : 0,
  );
  if (refs) for (const blob of refs.blobs) db.run("INSERT OR IGNORE INTO mb (repo, manifest, blob) VALUES (?, ?, ?)", repo, digest, blob);
}

export async function listRepositories(budget: Budget, db: GcDb): Promise<boolean> {
  return listSome(budget, db, paths.repositoriesPrefix(), "cursor.repos", (o) => {
    const k = parseRepoKey(o.key);
    if (!k) return;
    if (k.kind === "revision") recordRevision(db, k.repo, k.digest.toString(), o, false);
    else if (k.kind === "tag" && o.customMetadata?.digest) {
      db.run("INSERT OR REPLACE INTO t (repo, tag, digest, uploaded, etag) VALUES (?, ?, ?, ?, ?)", k.repo, k.tag, o.customMetadata.digest, o.uploaded.getTime(), o.etag);
    } else if (k.kind === "layer") {
      db.run("INSERT OR REPLACE INTO l (repo, digest, uploaded, etag, state) VALUES (?, ?, ?, ?, ?)", k.repo, k.digest.toString(), o.uploaded.getTime(), o.etag, stateOf(o));
    } else if (k.kind === "pulled") {
      const at = Number(o.customMetadata?.pulledAt);
      db.run("INSERT OR REPLACE INTO pl (repo, digest, at) VALUES (?, ?, ?)", k.repo, k.digest.toString(), Number.isFinite(at) ? at : o.uploaded.getTime());
    }
  });
}

export async function listBlobs(budget: Budget, db: GcDb): Promise<boolean> {
  return listSome(budget, db, paths.blobsPrefix(), "cursor.blobs", (o) => {
    const d = parseBlobIndexKey(o.key);
    if (!d) return;
    const meta = o.customMetadata ?? {};
    db.run(
      "INSERT OR REPLACE INTO b (digest, uploaded, etag, size, data, state) VALUES (?, ?, ?, ?, ?, ?)",
      d.toString(), o.uploaded.getTime(), o.etag, Number(meta.size ?? 0), meta.data ?? "", stateOf(o),
    );
  });
}

export async function listData(budget: Budget, db: GcDb): Promise<boolean> {
  return listSome(budget, db, paths.dataPrefix(), "cursor.data", (o) => {
    db.run("INSERT OR REPLACE INTO d (key, uploaded, size) VALUES (?, ?, ?)", o.key, o.uploaded.getTime(), o.size);
  });
}

/**
 * The second look, after condemnation: revisions and links that are new since the inventory, or were
 * written again (another upload time; for links another etag than listed or than GC's own condemnation
 * gave it), are recorded as fresh. No clocks are compared: only what the first listing saw.
 */
export async function recheckRepositories(budget: Budget, db: GcDb): Promise<boolean> {
  return listSome(budget, db, paths.repositoriesPrefix(), "cursor.recheck", (o) => {
    const k = parseRepoKey(o.key);
    if (!k) return;
    if (k.kind === "revision") {
      const seen = db.one<{ uploaded: number }>("SELECT uploaded FROM m WHERE repo = ? AND digest = ?", k.repo, k.digest.toString());
      if (!seen || seen.uploaded !== o.uploaded.getTime()) recordRevision(db, k.repo, k.digest.toString(), o, true);
    } else if (k.kind === "layer") {
      const seen = db.one<{ etag: string; cetag: string | null }>("SELECT etag, cetag FROM l WHERE repo = ? AND digest = ?", k.repo, k.digest.toString());
      if (seen && (seen.etag === o.etag || seen.cetag === o.etag)) return;
      db.run(
        "INSERT INTO l (repo, digest, uploaded, etag, state, fresh) VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (repo, digest) DO UPDATE SET fresh = 1",
        k.repo, k.digest.toString(), o.uploaded.getTime(), o.etag, stateOf(o),
      );
    }
  });
}

const FETCH_BATCH = 50;

/** GET the manifests whose references are not recorded in their metadata. */
export async function fetchManifests(budget: Budget, db: GcDb): Promise<boolean> {
  for (;;) {
    const want = Math.min(FETCH_BATCH, budget.left);
    if (want <= 0) return false;
    const rows = db.all<{ repo: string; digest: string }>("SELECT repo, digest FROM m WHERE fetch = 1 LIMIT ?", want);
    if (!rows.length) return true;
    await pool(rows, 6, async ({ repo, digest }) => {
      const obj = await budget.bucket.get(paths.manifest(repo, parseDigest(digest)));
      if (obj) {
        const bytes = new Uint8Array(await obj.arrayBuffer());
        const { blobs, children } = referencesOf(bytes, obj.httpMetadata?.contentType ?? "");
        db.run("UPDATE m SET children = ?, fetch = 0 WHERE repo = ? AND digest = ?", children.join(","), repo, digest);
        for (const blob of blobs) db.run("INSERT OR IGNORE INTO mb (repo, manifest, blob) VALUES (?, ?, ?)", repo, digest, blob);
      } else {
        db.run("DELETE FROM m WHERE repo = ? AND digest = ?", repo, digest); // deleted since it was listed
      }
    });
  }
}

/**
 * A stored manifest's references. The bytes were checked when pushed; should they not parse now, every
 * digest anywhere in them counts as referenced (conservative: nothing is collected by mistake).
 */
export function referencesOf(bytes: Uint8Array, contentType: string): { blobs: string[]; children: string[] } {
  try {
    const f = parseManifest(bytes, contentType);
    return { blobs: f.blobs.map(String), children: f.manifests.map(String) };
  } catch {
    const all = [...new TextDecoder().decode(bytes).matchAll(/sha(?:256:[0-9a-f]{64}|512:[0-9a-f]{128})/g)].map((m) => m[0]);
    return { blobs: all, children: all };
  }
}
