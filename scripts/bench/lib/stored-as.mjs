/**
 * How Wharf stored each blob, read from the local R2 simulator's own database (miniflare keeps one SQLite
 * file per bucket under <data>/v3/r2/miniflare-R2BucketObject/): the content index blobs/sha256/<hex>
 * names the data object (customMetadata.data), and that object is either one stored value (a single
 * `put`) or a multipart object of N parts. A pull of a multipart object reads through the simulator's
 * multipart path, so the report says which kind every measured pull read. Read-only; uses sqlite3.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

function bucketDbs(dataDir) {
  const dir = join(dataDir, "v3", "r2", "miniflare-R2BucketObject");
  if (!existsSync(dir)) return [];
  const dbs = readdirSync(dir).filter((f) => f.endsWith(".sqlite")).map((f) => join(dir, f));
  // The folder also holds miniflare's metadata database, which has no objects table.
  return dbs.filter((db) => q(db, "SELECT count(*) AS n FROM sqlite_master WHERE name = '_mf_objects'")[0]?.n > 0);
}

const q = (db, sql) => {
  const out = execFileSync("sqlite3", ["-readonly", "-json", db, sql], { encoding: "utf8", timeout: 10_000 }).trim();
  return out ? JSON.parse(out) : [];
};
const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;

/** { [digest]: "single" | "multipart/<parts>" | "missing" } for the given digests. */
export function storedAs(dataDir, digests) {
  const out = Object.fromEntries(digests.map((d) => [d, "missing"]));
  try {
    for (const db of bucketDbs(dataDir)) {
      for (const d of digests) {
        const [idx] = q(db, `SELECT custom_metadata FROM _mf_objects WHERE key = ${lit(`blobs/${d.replace(":", "/")}`)}`);
        if (!idx) continue;
        const raw = JSON.parse(idx.custom_metadata);
        const meta = Array.isArray(raw) ? Object.fromEntries(raw.map(({ k, v }) => [k, v])) : raw;
        const [obj] = q(db, `SELECT blob_id IS NULL AS multi, (SELECT count(*) FROM _mf_multipart_parts WHERE object_key = ${lit(meta.data)}) AS parts FROM _mf_objects WHERE key = ${lit(meta.data)}`);
        out[d] = !obj ? "missing" : obj.multi ? `multipart/${obj.parts}` : "single";
      }
    }
  } catch (e) {
    for (const d of digests) if (out[d] === "missing") out[d] = `unknown (${String(e.message).split("\n")[0].slice(0, 80)})`;
  }
  return out;
}

/** "single" / "multipart (N parts)" / a mix, for the blobs of one pushed image (sizes weigh the mix). */
export function describeStorage(image, kinds) {
  const byKind = new Map();
  for (const b of image.blobs) {
    const k = (kinds[b.digest] ?? "missing").replace(/\/\d+$/, "");
    byKind.set(k, (byKind.get(k) ?? 0) + b.size);
  }
  const parts = image.blobs.map((b) => kinds[b.digest]).filter((k) => k?.startsWith("multipart/")).map((k) => Number(k.split("/")[1]));
  return [...byKind.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, bytes]) => `${k === "multipart" ? `multipart (${parts.reduce((a, b) => a + b, 0)} parts)` : k} ${((100 * bytes) / image.blobs.reduce((s, b) => s + b.size, 0)).toFixed(0)}%`)
    .join(", ");
}
