/**
 * The spec's grammar for repository names, tags and digests, and the parsed forms the rest of Wharf uses.
 * Parsing throws RegistryError with the code the spec asks for; callers receive only valid values.
 */
import { RegistryError } from "../worker/errors";

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

export function parseName(name: string): string {
  if (!isValidName(name)) throw new RegistryError("NAME_INVALID", `invalid repository name: ${truncate(name)}`);
  return name;
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

export function parseTag(tag: string): string {
  if (!isValidTag(tag)) throw new RegistryError("TAG_INVALID", `invalid tag: ${truncate(tag)}`);
  return tag;
}

/** Parse "algorithm:encoded"; sha256 and sha512 are supported, any other well-formed algorithm is UNSUPPORTED. */
export function parseDigest(s: string): Digest {
  if (!DIGEST_RE.test(s)) throw new RegistryError("DIGEST_INVALID", `invalid digest: ${truncate(s)}`);
  const i = s.indexOf(":");
  const algorithm = s.slice(0, i);
  const hex = s.slice(i + 1);
  if (algorithm !== "sha256" && algorithm !== "sha512") {
    throw new RegistryError("DIGEST_INVALID", `unsupported digest algorithm: ${truncate(algorithm)}`);
  }
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/.test(hex)) {
    throw new RegistryError("DIGEST_INVALID", `invalid ${algorithm} digest: ${truncate(s)}`);
  }
  return makeDigest(algorithm, hex);
}

export function isDigest(s: string): boolean {
  return s.includes(":");
}

/** A manifest reference: a tag or a digest. */
export type Reference = { tag: string; digest?: undefined } | { digest: Digest; tag?: undefined };

export function parseReference(ref: string): Reference {
  return isDigest(ref) ? { digest: parseDigest(ref) } : { tag: parseTag(ref) };
}

export function digestFromBytes(algorithm: DigestAlgorithm, hash: ArrayBuffer): Digest {
  return makeDigest(algorithm, toHex(hash));
}

export async function digestOf(bytes: ArrayBuffer | Uint8Array, algorithm: DigestAlgorithm = "sha256"): Promise<Digest> {
  const name = algorithm === "sha256" ? "SHA-256" : "SHA-512";
  return digestFromBytes(algorithm, await crypto.subtle.digest(name, bytes as BufferSource));
}

export function toHex(buf: ArrayBuffer | Uint8Array): string {
  const b = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  let s = "";
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, "0");
  return s;
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}...` : s;
}
