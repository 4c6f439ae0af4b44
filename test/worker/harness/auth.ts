/**
 * Whole-Worker requests with per-test settings: the Worker's own fetch handler, called with the test
 * environment's real bindings (R2 and Durable Object simulators) plus the AUTH_* (or other) values given.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { expect } from "vitest";
import worker from "../../../src/worker/index";
import type { Env } from "../../../src/worker/config";
import { hashPassword } from "../../../src/worker/auth/password";
import { MediaTypes } from "../../../src/oci/media-types";
import { sha256 } from "./content";
import { BASE } from "./requests";

export const SECRET = "auth-test-signing-secret-0123456789abcdef";

/** Users and their passwords for AUTH_CONFIG (hashes made once, with few iterations to keep tests quick). */
export const PASSWORDS = { alice: "alice-pw", bob: "bob-pw", admin: "admin-pw" } as const;

let usersMemo: Record<string, string> | undefined;
export async function users(): Promise<Record<string, string>> {
  usersMemo ??= Object.fromEntries(
    await Promise.all(Object.entries(PASSWORDS).map(async ([u, p]) => [u, await hashPassword(p, 1000)] as const)),
  );
  return usersMemo;
}

/** The configuration most tests use: public/* anonymous pull, alice on team/*, bob pull-only, admin everything. */
export async function standardConfig(): Promise<string> {
  return JSON.stringify({
    users: await users(),
    rules: [
      { users: ["anonymous"], repositories: ["public/*"], actions: ["pull"] },
      { users: ["alice"], repositories: ["team/*"], actions: ["pull", "push"] },
      { users: ["alice"], repositories: ["public/*"], actions: ["push"] },
      { users: ["bob"], repositories: ["team/*"], actions: ["pull"] },
      { users: ["admin"], repositories: ["*"], actions: ["*", "catalog"] },
    ],
  });
}

/** Settings for tests: no AUTH_ANONYMOUS_PUSH unless given (the vitest project default turns it on). */
export async function authEnv(overrides: Record<string, string | undefined> = {}): Promise<Env> {
  const e = { ...(env as unknown as Env), AUTH_ANONYMOUS_PUSH: undefined, AUTH_SIGNING_SECRET: SECRET } as Env;
  if (!("AUTH_CONFIG" in overrides)) e.AUTH_CONFIG = await standardConfig();
  return Object.assign(e, overrides);
}

export interface Call {
  auth?: string;
  body?: BodyInit | null;
  headers?: Record<string, string>;
}

export async function call(e: Env, method: string, path: string, c: Call = {}): Promise<Response> {
  const headers = new Headers(c.headers);
  if (c.auth) headers.set("Authorization", c.auth);
  const request = new Request(path.startsWith("http") ? path : BASE + path, { method, headers, body: c.body, redirect: "manual" });
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, e, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

export const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;
export const bearer = (token: string) => `Bearer ${token}`;

/** Ask the token endpoint; returns the parsed answer and the decoded access claim. */
export async function getToken(e: Env, scopes: string[], auth?: string) {
  const q = scopes.map((s) => `scope=${encodeURIComponent(s)}`).join("&");
  const res = await call(e, "GET", `/v2/token?service=wharf&${q}`, { auth });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { token: string; access_token: string; expires_in: number; issued_at: string };
  const claims = JSON.parse(atob(body.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  return { body, claims, token: body.token };
}

/** Parse a `WWW-Authenticate: Bearer k="v",...` header. */
export function challenge(res: Response): Record<string, string> {
  const h = res.headers.get("WWW-Authenticate") ?? "";
  expect(h.startsWith("Bearer ")).toBe(true);
  return Object.fromEntries([...h.slice(7).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

/** Push a blob monolithically with the given credentials; returns the response and the digest. */
export async function pushBlobAs(e: Env, name: string, data: string, auth?: string) {
  const digest = await sha256(data);
  const res = await call(e, "POST", `/v2/${name}/blobs/uploads/?digest=${digest}`, {
    auth,
    body: data,
    headers: { "Content-Length": String(new TextEncoder().encode(data).length) },
  });
  return { res, digest };
}

/** Push a tiny image (config blob + manifest) with the given credentials; returns the manifest digest. */
export async function pushImageAs(e: Env, name: string, tag: string, auth?: string): Promise<string> {
  const config = await pushBlobAs(e, name, JSON.stringify({ name, tag }), auth);
  expect(config.res.status).toBe(201);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: config.digest, size: JSON.stringify({ name, tag }).length },
    layers: [],
  });
  const res = await call(e, "PUT", `/v2/${name}/manifests/${tag}`, {
    auth,
    body: manifest,
    headers: { "Content-Type": MediaTypes.ociManifest },
  });
  expect(res.status).toBe(201);
  return sha256(manifest);
}
