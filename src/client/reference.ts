/**
 * Image references: `host[:port]/repository[:tag][@digest]`. Wharf has no default registry, so the
 * host is required; it is recognised as Docker does (has a "." or ":", or is "localhost"). Names, tags
 * and digests follow the shared grammar (src/oci/grammar.ts).
 */
import { isValidName, isValidTag, isWellFormedDigest } from "../oci/grammar";

export interface ImageReference {
  /** "host[:port]" as written */
  host: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** An image reference the CLI or a client caller wrote that cannot be used. */
export class ImageReferenceError extends Error {
  constructor(ref: string, why: string) {
    super(`invalid reference "${ref}": ${why}`);
    this.name = "ImageReferenceError";
  }
}

function looksLikeHost(s: string): boolean {
  return s.includes(".") || s.includes(":") || s === "localhost" || s.startsWith("[");
}

/** Parse "host/repo[:tag][@digest]" (a bare host, for catalog and login, is parseHost). */
export function parseImageReference(input: string): ImageReference {
  const ref = input.replace(/^(?:https?|docker):\/\//, "").replace(/^\/+/, "");
  const slash = ref.indexOf("/");
  if (slash === -1 || !looksLikeHost(ref.slice(0, slash))) {
    throw new ImageReferenceError(input, "it must start with a registry host, like 127.0.0.1:8787/repo:tag");
  }
  const host = ref.slice(0, slash);
  let rest = ref.slice(slash + 1);
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isWellFormedDigest(digest)) throw new ImageReferenceError(input, `bad digest ${digest}`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon !== -1 && !rest.slice(colon).includes("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) throw new ImageReferenceError(input, `bad tag ${tag}`);
  }
  if (!isValidName(rest)) throw new ImageReferenceError(input, `bad repository name "${rest}" (lowercase letters, digits, separators)`);
  return { host, repository: rest, tag, digest };
}

/** "host[:port]" alone, as given to `wharf catalog` or `wharf login`. */
export function parseHost(input: string): string {
  const host = input.replace(/^(?:https?|docker):\/\//, "").replace(/\/+$/, "");
  if (!host || host.includes("/")) throw new ImageReferenceError(input, "expected a registry host like 127.0.0.1:8787");
  return host;
}

/** The tag or digest to ask the registry for ("latest" when neither was given). */
export function referenceTarget(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? "latest";
}

export function formatReference(ref: ImageReference): string {
  return `${ref.host}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** Plain HTTP for loopback hosts (and for any host when `insecure`), HTTPS otherwise. */
export function registryBaseUrl(host: string, insecure = false): string {
  const bare = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  const loopback = bare === "localhost" || bare === "::1" || /^127(?:\.\d{1,3}){3}$/.test(bare);
  return `${loopback || insecure ? "http" : "https"}://${host}`;
}
