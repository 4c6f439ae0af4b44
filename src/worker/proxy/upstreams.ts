/**
 * The UPSTREAMS setting (a secret: it carries credentials): which registries Wharf caches, under which
 * repository prefix. A JSON array:
 *
 *     [
 *       { "prefix": "hub", "url": "https://registry-1.docker.io", "mirror": true, "tagTtlSeconds": 300 },
 *       { "prefix": "ghcr", "url": "https://ghcr.io", "username": "me", "password": "ghp_...",
 *         "repositories": ["myorg/*"] }
 *     ]
 *
 * - `prefix` (a repository name) maps `/v2/<prefix>/<upstream repository>/...` onto
 *   `<url>/v2/<upstream repository>/...`. Prefixes may not nest inside one another.
 * - `url`: http(s) base URL of the upstream registry, no path. `docker.io` and `index.docker.io` mean
 *   `registry-1.docker.io` (where Docker Hub's registry API lives).
 * - `username`/`password`: credentials for the upstream's Basic or token auth (both or neither).
 * - `tagTtlSeconds` (default 300): how long a manifest fetched by tag is served without asking upstream.
 * - `mirror: true` on at most one upstream: repository names that match no prefix and no local repository
 *   are looked up there (dockerd `registry-mirrors`, containerd `hosts.toml`).
 * - `repositories`: patterns (as in AUTH_CONFIG rules: `*` matches anything, `/` included) restricting which
 *   upstream repositories may be fetched; absent means all.
 * - `library` (default: true for Docker Hub, false elsewhere): a single-component name means
 *   `library/<name>` (`hub/alpine` is `library/alpine`), Docker Hub's official images.
 */
import { isValidPattern, matches } from "../auth/grants";
import { isValidName } from "../../oci/grammar";

export interface Upstream {
  prefix: string;
  /** Base URL without trailing slash. */
  url: string;
  username?: string;
  password?: string;
  tagTtlSeconds: number;
  mirror: boolean;
  repositories?: string[];
  library: boolean;
}

export const DEFAULT_TAG_TTL_SECONDS = 300;
const DOCKER_HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);
const KEYS = new Set(["prefix", "url", "username", "password", "tagTtlSeconds", "mirror", "repositories", "library"]);

/** Validator for the UPSTREAMS setting: throws an Error saying what it expects. */
export function parseUpstreams(value: unknown): Upstream[] {
  const list = typeof value === "string" ? parseJson(value) : value;
  if (list === undefined || list === null || list === "") return [];
  if (!Array.isArray(list)) throw new Error("a JSON array of {prefix, url, ...} objects");
  const out = list.map((raw, i) => parseOne(raw, i));
  const mirrors = out.filter((u) => u.mirror);
  if (mirrors.length > 1) throw new Error(`at most one upstream may be the mirror (found ${mirrors.map((m) => m.prefix).join(", ")})`);
  for (const a of out) {
    for (const b of out) {
      if (a !== b && (a.prefix === b.prefix || b.prefix.startsWith(`${a.prefix}/`))) {
        throw new Error(`prefixes must be distinct and not nested: ${a.prefix} and ${b.prefix}`);
      }
    }
  }
  return out;
}

function parseJson(text: string): unknown {
  if (!text.trim()) return [];
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`JSON (${(e as Error).message})`);
  }
}

function parseOne(raw: unknown, i: number): Upstream {
  const at = `upstream [${i}]`;
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new Error(`${at}: an object with prefix and url`);
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!KEYS.has(k)) throw new Error(`${at}: unknown field ${JSON.stringify(k)} (known: ${[...KEYS].join(", ")})`);
  if (typeof r.prefix !== "string" || !isValidName(r.prefix)) throw new Error(`${at}: prefix must be a repository name like "hub" or "mirrors/ghcr"`);
  if (typeof r.url !== "string") throw new Error(`${at}: url must be a string like "https://registry-1.docker.io"`);
  let url: URL;
  try {
    url = new URL(r.url);
  } catch {
    throw new Error(`${at}: url ${JSON.stringify(r.url)} is not a URL`);
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || (url.pathname !== "/" && url.pathname !== "") || url.search || url.username) {
    throw new Error(`${at}: url must be http(s)://host[:port] with no path, query or credentials`);
  }
  const hub = DOCKER_HUB_HOSTS.has(url.hostname);
  const base = hub ? "https://registry-1.docker.io" : url.origin;
  const hasUser = r.username !== undefined;
  const hasPass = r.password !== undefined;
  if (hasUser !== hasPass || (hasUser && (typeof r.username !== "string" || typeof r.password !== "string"))) {
    throw new Error(`${at}: username and password must both be strings, or both absent`);
  }
  let ttl = DEFAULT_TAG_TTL_SECONDS;
  if (r.tagTtlSeconds !== undefined) {
    if (typeof r.tagTtlSeconds !== "number" || !Number.isSafeInteger(r.tagTtlSeconds) || r.tagTtlSeconds < 0) {
      throw new Error(`${at}: tagTtlSeconds must be a whole number of seconds, 0 or more`);
    }
    ttl = r.tagTtlSeconds;
  }
  if (r.mirror !== undefined && typeof r.mirror !== "boolean") throw new Error(`${at}: mirror must be true or false`);
  if (r.library !== undefined && typeof r.library !== "boolean") throw new Error(`${at}: library must be true or false`);
  let repositories: string[] | undefined;
  if (r.repositories !== undefined) {
    if (!Array.isArray(r.repositories) || r.repositories.some((p) => typeof p !== "string" || !isValidPattern(p))) {
      throw new Error(`${at}: repositories must be a list of repository patterns like "library/*"`);
    }
    repositories = r.repositories as string[];
  }
  return {
    prefix: r.prefix,
    url: base,
    username: r.username as string | undefined,
    password: r.password as string | undefined,
    tagTtlSeconds: ttl,
    mirror: r.mirror === true,
    repositories,
    library: typeof r.library === "boolean" ? r.library : hub,
  };
}

/** May this upstream repository be fetched (the `repositories` patterns)? */
export function allowsRepository(u: Upstream, repo: string): boolean {
  return !u.repositories || u.repositories.some((p) => matches(p, repo));
}

/** Where an upstream is named in messages: "hub (https://registry-1.docker.io)". */
export function describeUpstream(u: Upstream): string {
  return `${u.prefix} (${u.url})`;
}
