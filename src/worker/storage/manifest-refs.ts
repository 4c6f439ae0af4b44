/**
 * What a manifest revision references, kept in the revision's own customMetadata when it fits, so garbage
 * collection marks from list results (a list returns metadata for 1,000 objects) instead of one GET per
 * manifest. `refs: "1"` says the record is there; `blobs` and `children` are comma-separated digests
 * (config and layers; child manifests of an index). R2 allows 2 KiB of metadata per object: a manifest
 * whose references do not fit has no record, and GC reads its bytes instead.
 */
import type { ManifestFacts } from "../../oci/manifest";

const BUDGET = 1700;

export interface RecordedRefs {
  blobs: string[];
  children: string[];
}

export function encodeRefs(facts: Pick<ManifestFacts, "blobs" | "manifests">): Record<string, string> {
  const blobs = [...new Set(facts.blobs.map(String))].join(",");
  const children = [...new Set(facts.manifests.map(String))].join(",");
  if (blobs.length + children.length > BUDGET) return {};
  return { refs: "1", blobs, children };
}

export function decodeRefs(meta: Record<string, string> | undefined): RecordedRefs | null {
  if (!meta || meta.refs !== "1") return null;
  const split = (s: string | undefined) => (s ? s.split(",") : []);
  return { blobs: split(meta.blobs), children: split(meta.children) };
}
