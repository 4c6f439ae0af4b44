/**
 * Registry credentials as dockerd receives them, and registry clients made with them.
 *
 * `X-Registry-Auth` (pull, push, distribution) is base64url of JSON `{username, password, serveraddress,
 * identitytoken, registrytoken}`; `POST /auth` (docker login) carries the same JSON as its body. The CLI
 * keeps the credentials (its config.json) and sends them with every request: the daemon stores none.
 */
import type { IncomingMessage } from "node:http";
import type { Credentials } from "../../client/auth";
import type { RegistryClient } from "../../client/registry";
import { nodeClient } from "../client";
import { badRequest } from "./errors";

export interface AuthConfig {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
  auth?: string;
}

export function decodeRegistryAuth(header: string | undefined): AuthConfig {
  if (!header) return {};
  try {
    const json = Buffer.from(header.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8");
    const parsed = JSON.parse(json) as AuthConfig | null;
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    // dockerd ignores an undecodable header and goes on anonymously; so do we.
    return {};
  }
}

export function credentialsOf(a: AuthConfig): Credentials | undefined {
  if (a.username && a.password !== undefined) return { username: a.username, password: a.password };
  if (a.identitytoken) return { username: "<token>", password: a.identitytoken };
  if (a.auth) {
    const text = Buffer.from(a.auth, "base64").toString("utf8");
    const i = text.indexOf(":");
    if (i > 0) return { username: text.slice(0, i), password: text.slice(i + 1) };
  }
  return undefined;
}

export interface RegistryClients {
  /** A client for `host` with the credentials of this request's X-Registry-Auth. */
  forRequest(req: IncomingMessage, host: string): RegistryClient;
  forCredentials(host: string, c: Credentials | undefined): RegistryClient;
}

/** `insecure`: hosts (host or host:port) reached over plain HTTP besides loopback ones. */
export function registryClients(insecure: string[] = []): RegistryClients {
  const plain = (host: string) => insecure.includes(host) || insecure.includes(host.replace(/:\d+$/, ""));
  const forCredentials = (host: string, c: Credentials | undefined) =>
    nodeClient(host, { insecure: plain(host), credentials: () => c, userAgent: "wharf-daemon/0.1" });
  return {
    forCredentials,
    forRequest: (req, host) => forCredentials(host, credentialsOf(decodeRegistryAuth(header(req, "x-registry-auth")))),
  };
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** "https://host:5000/v1/" or "host:5000" → "host:5000" (what docker login sends as serveraddress). */
export function serverHost(address: string | undefined): string {
  const host = (address ?? "").replace(/^[a-z]+:\/\//, "").replace(/\/.*$/, "");
  if (!host) throw badRequest("docker login needs a registry: wharf daemon has no default registry (docker login 127.0.0.1:8787)");
  return host;
}

