/**
 * Every R2 key Wharf reads or writes comes from this module; nothing else builds a key by hand.
 *
 *   <bucket>
 *   ├── blobs/<alg>/<hex>                        content index: which data object holds the digest
 *   │                                            (customMetadata: data = data key, size = bytes)
 *   ├── data/<id>                                physical blob bytes; a multipart upload writes here, so the key
 *   │                                            is fixed when the upload starts, before the digest is known
 *   ├── repositories/<name>/
 *   │   ├── _layers/<alg>/<hex>                  link: this repository may serve that blob
 *   │   ├── _manifests/
 *   │   │   ├── revisions/<alg>/<hex>            manifest bytes as pushed; httpMetadata.contentType = media type
 *   │   │   │                                    (customMetadata: subject; contentSize, platforms, artifactType:
 *   │   │   │                                    the summary listings show, recorded at push)
 *   │   │   ├── tags/<tag>                       customMetadata.digest = the tagged manifest; the body is a copy
 *   │   │   │                                    of its bytes (media type in httpMetadata), so a pull by tag is one read;
 *   │   │   │                                    the same summary metadata, so a tag list with metadata needs no reads
 *   │   │   └── tagged/<alg>/<hex>/<tag>         reverse index: tags that point at a manifest (for delete)
 *   │   ├── _referrers/<alg>/<subject hex>/<alg>/<referrer hex>   descriptor (JSON) of a referrer
 *   │   ├── _summary                             JSON: tag count, latest tag (name, digest, push time, size) and a
 *   │   │                                        version; written only by the repository's Durable Object
 *   │   │                                        (storage/summaries.ts), read by the web UI's repository list
 *   │   └── _proxy/                              only in a pull-through cache repository (src/worker/proxy/)
 *   │       ├── tags/<tag>                       when the tag was last checked upstream
 *   │       │                                    (customMetadata: digest, checkedAt = ms since epoch)
 *   │       ├── taglist                          the upstream's tag list (JSON array), customMetadata.checkedAt
 *   │       └── pulled/<alg>/<hex>               last pull of a cached manifest: customMetadata.pulledAt (ms);
 *   │                                            written at most once an hour per manifest and isolate.
 *   │                                            Garbage collection evicts a cached manifest whose pulledAt
 *   │                                            (or, if absent, its revision's upload time) is older than
 *   │                                            PROXY_EVICT_AFTER_SECONDS, with this record (src/worker/gc/);
 *   │                                            a later pull simply fetches it again from upstream.
 *   ├── _catalog/<name>                          one marker per repository
 *   └── _gc/active                               present while a garbage collection run may condemn content:
 *                                                writers that add a reference re-check it (src/worker/gc/coordinator.ts)
 *
 * An index entry or a layer link may carry customMetadata `condemned` (a GC run wants it gone; any new
 * reference clears it) or `tombstone` (GC won: readers treat it as absent); see storage/condemnation.ts.
 *
 * Repository name components never start with "_" (spec grammar), so "_layers", "_manifests",
 * "_referrers", "_summary" and "_proxy" cannot collide with a nested repository name, and listing one prefix never walks
 * into another repository.
 */
import { type Digest, parseDigest } from "../../oci/grammar";

const REPOS = "repositories/";

export const paths = {
  blobIndex: (d: Digest) => `blobs/${d.algorithm}/${d.hex}`,
  data: (id: string) => `data/${id}`,
  newData: () => `data/${crypto.randomUUID()}`,

  layerLink: (name: string, d: Digest) => `${REPOS}${name}/_layers/${d.algorithm}/${d.hex}`,

  manifest: (name: string, d: Digest) => `${REPOS}${name}/_manifests/revisions/${d.algorithm}/${d.hex}`,
  tag: (name: string, tag: string) => `${REPOS}${name}/_manifests/tags/${tag}`,
  tagsPrefix: (name: string) => `${REPOS}${name}/_manifests/tags/`,
  tagged: (name: string, d: Digest, tag: string) => `${REPOS}${name}/_manifests/tagged/${d.algorithm}/${d.hex}/${tag}`,
  taggedPrefix: (name: string, d: Digest) => `${REPOS}${name}/_manifests/tagged/${d.algorithm}/${d.hex}/`,

  referrer: (name: string, subject: Digest, referrer: Digest) =>
    `${REPOS}${name}/_referrers/${subject.algorithm}/${subject.hex}/${referrer.algorithm}/${referrer.hex}`,
  referrersPrefix: (name: string, subject: Digest) => `${REPOS}${name}/_referrers/${subject.algorithm}/${subject.hex}/`,

  summary: (name: string) => `${REPOS}${name}/_summary`,

  proxyTag: (name: string, tag: string) => `${REPOS}${name}/_proxy/tags/${tag}`,
  proxyTagList: (name: string) => `${REPOS}${name}/_proxy/taglist`,
  proxyPulled: (name: string, d: Digest) => `${REPOS}${name}/_proxy/pulled/${d.algorithm}/${d.hex}`,
  proxyPulledPrefix: (name: string) => `${REPOS}${name}/_proxy/pulled/`,

  catalogEntry: (name: string) => `_catalog/${name}`,
  catalogPrefix: () => `_catalog/`,

  blobsPrefix: () => "blobs/",
  dataPrefix: () => "data/",
  repositoriesPrefix: () => REPOS,
  gcActive: () => "_gc/active",
} as const;

/** What a key under repositories/ is, read back from the key (the inverse of the builders above). */
export type RepoKey =
  | { repo: string; kind: "layer"; digest: Digest }
  | { repo: string; kind: "revision"; digest: Digest }
  | { repo: string; kind: "tag"; tag: string }
  | { repo: string; kind: "tagged"; digest: Digest; tag: string }
  | { repo: string; kind: "referrer"; subject: Digest; referrer: Digest }
  | { repo: string; kind: "pulled"; digest: Digest };

/** Parse a key under repositories/; null for anything else (a name component never starts with "_"). */
export function parseRepoKey(key: string): RepoKey | null {
  if (!key.startsWith(REPOS)) return null;
  const cut = key.indexOf("/_", REPOS.length);
  if (cut < 0) return null;
  const repo = key.slice(REPOS.length, cut);
  const rest = key.slice(cut + 1).split("/");
  const dg = (alg: string | undefined, hex: string | undefined) => parseDigest(`${alg}:${hex}`);
  try {
    if (rest[0] === "_layers" && rest.length === 3) return { repo, kind: "layer", digest: dg(rest[1], rest[2]) };
    if (rest[0] === "_manifests" && rest[1] === "revisions" && rest.length === 4) return { repo, kind: "revision", digest: dg(rest[2], rest[3]) };
    if (rest[0] === "_manifests" && rest[1] === "tags" && rest.length === 3) return { repo, kind: "tag", tag: rest[2] };
    if (rest[0] === "_manifests" && rest[1] === "tagged" && rest.length === 5) return { repo, kind: "tagged", digest: dg(rest[2], rest[3]), tag: rest[4] };
    if (rest[0] === "_referrers" && rest.length === 5) return { repo, kind: "referrer", subject: dg(rest[1], rest[2]), referrer: dg(rest[3], rest[4]) };
    if (rest[0] === "_proxy" && rest[1] === "pulled" && rest.length === 4) return { repo, kind: "pulled", digest: dg(rest[2], rest[3]) };
  } catch {
    return null;
  }
  return null;
}

/** The digest of a content index key (blobs/<alg>/<hex>), or null. */
export function parseBlobIndexKey(key: string): Digest | null {
  const m = /^blobs\/([a-z0-9]+)\/([0-9a-f]+)$/.exec(key);
  if (!m) return null;
  try {
    return parseDigest(`${m[1]}:${m[2]}`);
  } catch {
    return null;
  }
}
