/**
 * The spec's grammar for repository names, tags and digests, spelled once for the Worker, the client,
 * the archives and the CLI, and the parsed forms they use. Parsing throws OciFormatError naming the rule
 * (the Worker answers NAME_INVALID, TAG_INVALID or DIGEST_INVALID); callers receive only valid values.
 */
import { toHex } from "./encoding";
import { OciFormatError } from "./errors";

const NAME_COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const NAME_RE = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
export const MAX_NAME_LENGTH = 255;

export type DigestAlgorithm = "sha256" | "sha512";
const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

export interface Digest {
  algorithm: DigestAlgorithm;
  hex: string;
  /** "algorithm:hex" */
  toString(): string;
}

function makeDigest(algorithm: DigestAlgorithm, hex: string): Digest {
  const s = `${algorithm}:${hex}`;
  return { algorithm, hex, toString: () => s };
}

export function isValidName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** "algorithm:encoded" by the spec's general digest grammar, whether or not the algorithm is supported. */
export function isWellFormedDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

export function parseName(name: string): string {
  if (!isValidName(name)) throw new OciFormatError("name", `invalid repository name: ${truncate(name)}`);
  return name;
}

export function parseTag(tag: string): string {
  if (!isValidTag(tag)) throw new OciFormatError("tag", `invalid tag: ${truncate(tag)}`);
  return tag;
}

/** Parse "algorithm:encoded"; sha256 and sha512 are supported, any other algorithm is refused. */
export function parseDigest(s: string): Digest {
  if (!DIGEST_RE.test(s)) throw new OciFormatError("digest", `invalid digest: ${truncate(s)}`);
  const i = s.indexOf(":");
  const algorithm = s.slice(0, i);
  const hex = s.slice(i + 1);
  if (algorithm !== "sha256" && algorithm !== "sha512") {
    throw new OciFormatError("digest", `unsupported digest algorithm: ${truncate(algorithm)}`);
  }
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/.test(hex)) {
    throw new OciFormatError("digest", `invalid ${algorithm} digest: ${truncate(s)}`);
  }
  return makeDigest(algorithm, hex);
}

export function isDigest(s: string): boolean {
  return s.includes(":");
}

/** What follows /manifests/ in a URL: a tag or a digest. */
export type ManifestReference = { tag: string; digest?: undefined } | { digest: Digest; tag?: undefined };

export function parseManifestReference(ref: string): ManifestReference {
  return isDigest(ref) ? { digest: parseDigest(ref) } : { tag: parseTag(ref) };
}

export function digestFromBytes(algorithm: DigestAlgorithm, hash: ArrayBuffer): Digest {
  return makeDigest(algorithm, toHex(hash));
}

export async function digestOf(bytes: ArrayBuffer | Uint8Array, algorithm: DigestAlgorithm = "sha256"): Promise<Digest> {
  const name = algorithm === "sha256" ? "SHA-256" : "SHA-512";
  return digestFromBytes(algorithm, await crypto.subtle.digest(name, bytes as BufferSource));
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}...` : s;
}
