/**
 * What Wharf needs to know about a pushed manifest, read from its JSON: its media type, the blobs and
 * child manifests it references (which must exist in the repository), its subject, and the artifact
 * type and annotations that go into a referrers descriptor. Any media type round-trips; the known image
 * and index types are checked more strictly. Throws OciFormatError("manifest"); no HTTP here.
 */
import { OciFormatError } from "./errors";
import { type Digest, parseDigest } from "./grammar";
import { FOREIGN_LAYER_TYPES, IMAGE_MANIFEST_TYPES, INDEX_TYPES, MediaTypes } from "./media-types";

/** A descriptor whose target must exist in the repository, with the size it declares and where it sits. */
export interface ContentReference {
  kind: "blob" | "manifest";
  digest: Digest;
  size: number;
  /** JSON path of the descriptor in the manifest, e.g. "layers[3]". */
  where: string;
}

export interface ManifestFacts {
  mediaType: string;
  blobs: Digest[];
  manifests: Digest[];
  /** Every descriptor of `blobs` and `manifests`, in document order (duplicates included). */
  references: ContentReference[];
  subject?: Digest;
  artifactType?: string;
  annotations?: Record<string, string>;
}

type Json = Record<string, unknown>;

function invalid(message: string): never {
  throw new OciFormatError("manifest", message);
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

interface ParsedDescriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  where: string;
  foreign: boolean;
}

function descriptor(v: unknown, where: string): ParsedDescriptor {
  if (!isObject(v)) invalid(`${where}: descriptor must be an object`);
  if (typeof v.mediaType !== "string" || v.mediaType === "") invalid(`${where}: mediaType missing`);
  if (typeof v.digest !== "string") invalid(`${where}: digest missing`);
  if (typeof v.size !== "number" || !Number.isSafeInteger(v.size) || v.size < 0) invalid(`${where}: size invalid`);
  let digest: Digest;
  try {
    digest = parseDigest(v.digest);
  } catch {
    invalid(`${where}: invalid digest ${v.digest}`);
  }
  return { mediaType: v.mediaType, digest, size: v.size, where, foreign: FOREIGN_LAYER_TYPES.has(v.mediaType) || Array.isArray(v.urls) };
}

function descriptors(v: unknown, where: string): ParsedDescriptor[] {
  if (!Array.isArray(v)) invalid(`${where} must be an array`);
  return v.map((d, i) => descriptor(d, `${where}[${i}]`));
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === "string") out[k] = val;
  return out;
}

/** Parse and check a manifest body pushed with the given Content-Type (already stripped of parameters). */
export function parseManifest(bytes: Uint8Array, contentType: string): ManifestFacts {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    invalid("manifest is not valid JSON");
  }
  if (!isObject(doc)) invalid("manifest must be a JSON object");

  const declared = typeof doc.mediaType === "string" ? doc.mediaType : undefined;
  const mediaType = contentType || declared;
  if (!mediaType) invalid("manifest media type unknown: send Content-Type");
  if (declared !== undefined && declared !== mediaType) {
    invalid(`mediaType ${declared} in the manifest does not match Content-Type ${mediaType}`);
  }
  if (mediaType === MediaTypes.dockerSchema1 || mediaType === MediaTypes.dockerSchema1Signed) {
    invalid("Docker schema 1 manifests are not supported; push schema 2 or OCI");
  }

  const known = IMAGE_MANIFEST_TYPES.has(mediaType) || INDEX_TYPES.has(mediaType);
  if (known && doc.schemaVersion !== 2) invalid("schemaVersion must be 2");

  const facts: ManifestFacts = { mediaType, blobs: [], manifests: [], references: [] };
  const refer = (kind: ContentReference["kind"], d: ParsedDescriptor) => {
    (kind === "blob" ? facts.blobs : facts.manifests).push(d.digest);
    facts.references.push({ kind, digest: d.digest, size: d.size, where: d.where });
  };

  const isIndex = INDEX_TYPES.has(mediaType) || (!known && "manifests" in doc);
  const isImage = IMAGE_MANIFEST_TYPES.has(mediaType) || (!known && ("config" in doc || "layers" in doc));
  if (isIndex) {
    for (const child of descriptors(doc.manifests, "manifests")) refer("manifest", child);
  }
  if (isImage) {
    if (IMAGE_MANIFEST_TYPES.has(mediaType) || "config" in doc) {
      const config = descriptor(doc.config, "config");
      refer("blob", config);
      facts.artifactType = config.mediaType;
    }
    if (IMAGE_MANIFEST_TYPES.has(mediaType) || "layers" in doc) {
      for (const layer of descriptors(doc.layers ?? [], "layers")) if (!layer.foreign) refer("blob", layer);
    }
  }
  if (typeof doc.artifactType === "string") facts.artifactType = doc.artifactType;
  else if (isIndex) facts.artifactType = undefined;
  if (doc.subject !== undefined) facts.subject = descriptor(doc.subject, "subject").digest;
  facts.annotations = stringMap(doc.annotations);
  return facts;
}
