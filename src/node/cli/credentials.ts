/**
 * Where the CLI finds credentials for a registry host, first match wins:
 * 1. WHARF_USERNAME / WHARF_PASSWORD in the environment (CI);
 * 2. Wharf's own login file, $WHARF_AUTH_FILE or $XDG_CONFIG_HOME/wharf/auth.json (~/.config/wharf/auth.json),
 *    written by `wharf login` with mode 0600, in Docker's format: {"auths": {"<host>": {"auth": base64(user:pass)}}};
 * 3. Docker's $DOCKER_CONFIG/config.json (~/.docker/config.json), its `auths` section
 *    (`auth`, or `username`/`password`; credential helpers are not run).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { Credentials } from "../../client/auth";

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
}

interface AuthFile {
  auths?: Record<string, AuthEntry>;
  [k: string]: unknown;
}

export function wharfAuthFile(): string {
  if (process.env.WHARF_AUTH_FILE) return process.env.WHARF_AUTH_FILE;
  return join(process.env.XDG_CONFIG_HOME || join(homedir(), ".config"), "wharf", "auth.json");
}

export function dockerConfigFile(): string {
  return join(process.env.DOCKER_CONFIG || join(homedir(), ".docker"), "config.json");
}

function readAuthFile(path: string): AuthFile {
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, "utf8")) as AuthFile;
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** "https://host:5000/v1/" → "host:5000" */
export function normalizeHostKey(key: string): string {
  return key.replace(/^[a-z]+:\/\//, "").replace(/\/.*$/, "");
}

function decode(entry: AuthEntry): Credentials | undefined {
  if (entry.username && entry.password !== undefined) return { username: entry.username, password: entry.password };
  if (entry.auth) {
    const text = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = text.indexOf(":");
    if (colon > 0) return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  return undefined;
}

function lookupIn(file: AuthFile, host: string): Credentials | undefined {
  for (const [key, entry] of Object.entries(file.auths ?? {})) {
    if (normalizeHostKey(key) === host) {
      const c = decode(entry);
      if (c) return c;
    }
  }
  return undefined;
}

export function findCredentials(host: string): Credentials | undefined {
  if (process.env.WHARF_USERNAME && process.env.WHARF_PASSWORD !== undefined) {
    return { username: process.env.WHARF_USERNAME, password: process.env.WHARF_PASSWORD };
  }
  return lookupIn(readAuthFile(wharfAuthFile()), host) ?? lookupIn(readAuthFile(dockerConfigFile()), host);
}

export function saveCredentials(host: string, c: Credentials): string {
  const path = wharfAuthFile();
  const file = readAuthFile(path);
  file.auths = { ...file.auths, [host]: { auth: Buffer.from(`${c.username}:${c.password}`).toString("base64") } };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  return path;
}

export function removeCredentials(host: string): boolean {
  const path = wharfAuthFile();
  const file = readAuthFile(path);
  if (!file.auths?.[host]) return false;
  delete file.auths[host];
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  return true;
}
