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
 *   │   └── _referrers/<alg>/<subject hex>/<alg>/<referrer hex>   descriptor (JSON) of a referrer
 *   └── _catalog/<name>                          one marker per repository
 *
 * Repository name components never start with "_" (spec grammar), so "_layers", "_manifests" and
 * "_referrers" cannot collide with a nested repository name, and listing one prefix never walks
 * into another repository.
 */
import type { Digest } from "../../oci/grammar";

const REPOS = "repositories/";

export const paths = {
  blobIndex: (d: Digest) => `blobs/${d.algorithm}/${d.hex}`,
  data: (id: string) => `data/${id}`,
  newData: () => `data/${crypto.randomUUID()}`,

  repoRoot: (name: string) => `${REPOS}${name}/`,
  layerLink: (name: string, d: Digest) => `${REPOS}${name}/_layers/${d.algorithm}/${d.hex}`,

  manifest: (name: string, d: Digest) => `${REPOS}${name}/_manifests/revisions/${d.algorithm}/${d.hex}`,
  tag: (name: string, tag: string) => `${REPOS}${name}/_manifests/tags/${tag}`,
  tagsPrefix: (name: string) => `${REPOS}${name}/_manifests/tags/`,
  tagged: (name: string, d: Digest, tag: string) => `${REPOS}${name}/_manifests/tagged/${d.algorithm}/${d.hex}/${tag}`,
  taggedPrefix: (name: string, d: Digest) => `${REPOS}${name}/_manifests/tagged/${d.algorithm}/${d.hex}/`,

  referrer: (name: string, subject: Digest, referrer: Digest) =>
    `${REPOS}${name}/_referrers/${subject.algorithm}/${subject.hex}/${referrer.algorithm}/${referrer.hex}`,
  referrersPrefix: (name: string, subject: Digest) => `${REPOS}${name}/_referrers/${subject.algorithm}/${subject.hex}/`,

  catalogEntry: (name: string) => `_catalog/${name}`,
  catalogPrefix: () => `_catalog/`,
} as const;
