/**
 * Authentication, client side: Basic, and Docker's Bearer token flow
 * (https://distribution.github.io/distribution/spec/auth/token/).
 *
 * A 401 carries `WWW-Authenticate: Bearer realm="<url>",service="<svc>",scope="<scope>"`. The client GETs
 * `<realm>?service=<svc>&scope=<s1>&scope=<s2>` (with Basic credentials when it has them, anonymously
 * otherwise) and gets `{"token"|"access_token": "...", "expires_in": N}`. Tokens are cached per set of
 * scopes until shortly before they expire; once a registry has answered with a Bearer challenge, later
 * requests get a token before they are sent, so each operation costs one 401 at most once.
 */
import { errorFromResponse } from "./errors";

export interface Credentials {
  username: string;
  password: string;
}

export type CredentialsProvider = (host: string) => Credentials | undefined | Promise<Credentials | undefined>;

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parse a WWW-Authenticate header (one challenge; quoted and bare parameter values). */
export function parseChallenge(header: string): Challenge | null {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!m) return null;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/g;
  for (let p = re.exec(m[2]); p; p = re.exec(m[2])) params[p[1].toLowerCase()] = (p[2] ?? p[3] ?? "").replace(/\\(.)/g, "$1");
  return { scheme: m[1].toLowerCase(), params };
}

export function basicHeader(c: Credentials): string {
  const bytes = new TextEncoder().encode(`${c.username}:${c.password}`);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

/** Scopes for a repository: "repository:<name>:<actions>". */
export function repositoryScope(repo: string, actions: string[]): string {
  return `repository:${repo}:${actions.join(",")}`;
}

export const CATALOG_SCOPE = "registry:catalog:*";

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** The auth state of one registry host: which scheme it asked for and the tokens it gave us. */
export class AuthState {
  private scheme: "none" | "basic" | "bearer" = "none";
  private bearer: { realm: string; service?: string } | null = null;
  private tokens = new Map<string, CachedToken>();

  constructor(
    private host: string,
    private credentials: CredentialsProvider,
    private fetchFn: typeof fetch,
  ) {}

  /** The Authorization header to send for these scopes, if the registry wants one we can make. */
  async header(scopes: string[]): Promise<string | undefined> {
    if (this.scheme === "basic") {
      const c = await this.credentials(this.host);
      return c ? basicHeader(c) : undefined;
    }
    if (this.scheme === "bearer") return `Bearer ${await this.token(scopes)}`;
    return undefined;
  }

  /**
   * Learn from a 401. Returns true when a retry with new credentials can help (a scheme we can answer
   * and, for Basic, credentials to answer with).
   */
  async onChallenge(header: string | null, scopes: string[], sentAuth: boolean): Promise<boolean> {
    const ch = header ? parseChallenge(header) : null;
    if (!ch) return false;
    if (ch.scheme === "basic") {
      const had = this.scheme === "basic";
      this.scheme = "basic";
      return !(had && sentAuth) && (await this.credentials(this.host)) !== undefined;
    }
    if (ch.scheme === "bearer" && ch.params.realm) {
      this.scheme = "bearer";
      this.bearer = { realm: ch.params.realm, service: ch.params.service };
      // What the request needs plus what the registry says it needs (it may name more, or other, scopes).
      // Scopes compare by their action sets: "push,pull" from a challenge is the "pull,push" we asked for.
      const wanted = new Set(scopes.map(normalizeScope));
      if (ch.params.scope) for (const s of ch.params.scope.split(" ")) if (s) wanted.add(normalizeScope(s));
      const key = scopeKey([...wanted]);
      // A token we sent was refused (expired, revoked, insufficient_scope): fetch a fresh one, once.
      if (sentAuth) this.tokens.delete(key);
      await this.token([...wanted]);
      // The retry looks its token up by the request's own scopes.
      this.tokens.set(scopeKey(scopes), this.tokens.get(key)!);
      return true;
    }
    return false;
  }

  private async token(scopes: string[]): Promise<string> {
    const key = scopeKey(scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.token;
    if (!this.bearer) throw new Error("no bearer realm known");
    const url = new URL(this.bearer.realm);
    if (this.bearer.service) url.searchParams.set("service", this.bearer.service);
    for (const s of [...new Set(scopes)].sort()) url.searchParams.append("scope", s);
    const headers: Record<string, string> = { Accept: "application/json" };
    const c = await this.credentials(this.host);
    if (c) headers.Authorization = basicHeader(c);
    const res = await this.fetchFn(url.toString(), { headers });
    if (!res.ok) {
      throw await errorFromResponse(res, `token request to ${url.origin}${url.pathname}`);
    }
    const body = (await res.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new Error(`token endpoint ${url.origin}${url.pathname} returned no token`);
    const ttl = Math.max(10, Number(body.expires_in) || 60);
    // Refresh a little before the registry would refuse it.
    this.tokens.set(key, { token, expiresAt: Date.now() + (ttl - Math.min(30, ttl / 5)) * 1000 });
    return token;
  }
}

/** "type:name:a,b" with its actions sorted and de-duplicated. */
function normalizeScope(scope: string): string {
  const i = scope.lastIndexOf(":");
  if (i < 0) return scope;
  return `${scope.slice(0, i)}:${[...new Set(scope.slice(i + 1).split(","))].sort().join(",")}`;
}

function scopeKey(scopes: string[]): string {
  return [...new Set(scopes.map(normalizeScope))].sort().join(" ");
}
