/**
 * Image references: `host[:port]/repository[:tag][@digest]`. Wharf has no default registry, so the
 * host is required; it is recognised as Docker does (has a "." or ":", or is "localhost").
 */

export interface ImageReference {
  /** "host[:port]" as written */
  host: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export class ReferenceError extends Error {
  constructor(ref: string, why: string) {
    super(`invalid reference "${ref}": ${why}`);
    this.name = "ReferenceError";
  }
}

function looksLikeHost(s: string): boolean {
  return s.includes(".") || s.includes(":") || s === "localhost" || s.startsWith("[");
}

/** Parse "host/repo[:tag][@digest]". `needsRepository: false` allows a bare host (catalog, login). */
export function parseReference(input: string): ImageReference {
  const ref = input.replace(/^(?:https?|docker):\/\//, "").replace(/^\/+/, "");
  const slash = ref.indexOf("/");
  if (slash === -1 || !looksLikeHost(ref.slice(0, slash))) {
    throw new ReferenceError(input, "it must start with a registry host, like 127.0.0.1:8787/repo:tag");
  }
  const host = ref.slice(0, slash);
  let rest = ref.slice(slash + 1);
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new ReferenceError(input, `bad digest ${digest}`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon !== -1 && !rest.slice(colon).includes("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new ReferenceError(input, `bad tag ${tag}`);
  }
  if (!NAME.test(rest)) throw new ReferenceError(input, `bad repository name "${rest}" (lowercase letters, digits, separators)`);
  return { host, repository: rest, tag, digest };
}

/** "host[:port]" alone, as given to `wharf catalog` or `wharf login`. */
export function parseHost(input: string): string {
  const host = input.replace(/^(?:https?|docker):\/\//, "").replace(/\/+$/, "");
  if (!host || host.includes("/")) throw new ReferenceError(input, "expected a registry host like 127.0.0.1:8787");
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
