/**
 * The reference check of a manifest push: every blob and child manifest a manifest names must be in the
 * repository, with the size its descriptor declares (the image spec: the size MUST match the content;
 * clients that check sizes fail on pull otherwise). Storage only: no HTTP here.
 *
 * The cost is bounded, so one manifest cannot stall the registry or run out of subrequests:
 * - each distinct (kind, digest) is looked up once, however many descriptors repeat it (a blob costs two
 *   R2 heads, its link and the content index; a child manifest one head);
 * - at most CHECK_CONCURRENCY lookups run at a time (a Worker invocation keeps at most 6 connections
 *   open, and R2 calls count: more would only queue in the runtime);
 * - lookups stop as soon as REPORT_CAP problems are known, and the error lists at most that many;
 * - a manifest naming more than MAX_MANIFEST_REFERENCES distinct targets is refused before any lookup:
 *   2 x 4,096 heads plus the push's own dozen reads and writes stay under the 10,000 subrequests of a
 *   paid Worker invocation. Real images are far below it (Docker caps layers at 127; big indexes and
 *   build-cache manifests list a few thousand entries). The number is documented in docs/decisions.md.
 */
import { RegistryError } from "../errors";
import type { ContentReference } from "../../oci/manifest";
import type { BlobStore } from "./blobs";
import type { ManifestStore } from "./manifests";

export const MAX_MANIFEST_REFERENCES = 4096;
export const CHECK_CONCURRENCY = 6;
export const REPORT_CAP = 10;

interface Target {
  kind: ContentReference["kind"];
  digest: ContentReference["digest"];
  uses: ContentReference[];
}

interface SizeMismatch {
  where: string;
  digest: string;
  size: number;
  stored: number;
}

export async function checkReferences(
  stores: { blobs: BlobStore; manifests: ManifestStore },
  name: string,
  references: ContentReference[],
): Promise<void> {
  const targets = distinct(references);
  if (targets.length > MAX_MANIFEST_REFERENCES) {
    throw new RegistryError(
      "MANIFEST_INVALID",
      `manifest references ${targets.length} distinct blobs and manifests; at most ${MAX_MANIFEST_REFERENCES} are accepted`,
      { limit: MAX_MANIFEST_REFERENCES, references: targets.length },
    );
  }
  const missing: string[] = [];
  const mismatched: SizeMismatch[] = [];
  const done = () => missing.length + mismatched.length >= REPORT_CAP;

  const storedSize = async (t: Target): Promise<number | null> => {
    if (t.kind === "blob") return (await stores.blobs.statInRepo(name, t.digest))?.size ?? null;
    return (await stores.manifests.stat(name, t.digest))?.size ?? null;
  };

  let next = 0;
  const worker = async () => {
    while (next < targets.length && !done()) {
      const t = targets[next++];
      const stored = await storedSize(t);
      if (stored === null) {
        missing.push(t.digest.toString());
        continue;
      }
      for (const use of t.uses) {
        if (use.size !== stored) mismatched.push({ where: use.where, digest: t.digest.toString(), size: use.size, stored });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHECK_CONCURRENCY, targets.length) }, worker));

  if (mismatched.length) {
    const shown = mismatched.slice(0, REPORT_CAP);
    const text = shown.map((m) => `${m.where} declares size ${m.size} for ${m.digest}, stored size is ${m.stored}`);
    throw new RegistryError("MANIFEST_INVALID", `descriptor size does not match the content: ${text.join("; ")}${more(mismatched.length)}`, {
      descriptors: shown,
    });
  }
  if (missing.length) {
    const shown = missing.slice(0, REPORT_CAP);
    throw new RegistryError("MANIFEST_BLOB_UNKNOWN", `manifest references unknown content: ${shown.join(", ")}${more(missing.length)}`, {
      digests: shown,
    });
  }
}

function more(found: number): string {
  return found >= REPORT_CAP ? " (checking stopped; there may be more)" : "";
}

function distinct(references: ContentReference[]): Target[] {
  const byKey = new Map<string, Target>();
  for (const r of references) {
    const key = `${r.kind} ${r.digest}`;
    let t = byKey.get(key);
    if (!t) byKey.set(key, (t = { kind: r.kind, digest: r.digest, uses: [] }));
    t.uses.push(r);
  }
  return [...byKey.values()];
}
