/**
 * Password hashes: PBKDF2-HMAC-SHA256 on WebCrypto, stored as
 *
 *     pbkdf2-sha256$<iterations>$<salt, base64url>$<derived key, base64url>
 *
 * with a random 16-byte salt per user and a 32-byte derived key. Workers refuse PBKDF2 above 100,000
 * iterations, which is also the default (about 25 ms of CPU per check on this machine's Node).
 * `node scripts/hash-password.mjs` produces one.
 *
 * A check always does the same work: an unknown user is checked against a dummy hash with the same
 * iteration count, so a failed login takes as long whether or not the user exists.
 */
import { base64url } from "../../oci/encoding";
import { timingSafeEqual } from "../signing/hmac";

export const MAX_ITERATIONS = 100_000;
export const DEFAULT_ITERATIONS = 100_000;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

export interface PasswordHash {
  iterations: number;
  salt: Uint8Array<ArrayBuffer>;
  /** base64url of the derived key */
  key: string;
}

function fromBase64url(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** Parse a stored hash; throws Error (a configuration mistake) when malformed. */
export function parsePasswordHash(s: string): PasswordHash {
  const m = /^pbkdf2-sha256\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(s);
  if (!m) throw new Error("password hash must look like pbkdf2-sha256$<iterations>$<salt>$<key> (scripts/hash-password.mjs)");
  const iterations = Number(m[1]);
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new Error(`password hash iterations must be 1 to ${MAX_ITERATIONS}`);
  }
  if (fromBase64url(m[3]).length !== KEY_BYTES) throw new Error(`password hash key must be ${KEY_BYTES} bytes`);
  return { iterations, salt: fromBase64url(m[2]), key: m[3] };
}

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<string> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, material, KEY_BYTES * 8);
  return base64url(bits);
}

export async function hashPassword(password: string, iterations = DEFAULT_ITERATIONS): Promise<string> {
  if (iterations < 1 || iterations > MAX_ITERATIONS) throw new Error(`iterations must be 1 to ${MAX_ITERATIONS}`);
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const key = await derive(password, salt, iterations);
  return `pbkdf2-sha256$${iterations}$${base64url(salt.buffer as ArrayBuffer)}$${key}`;
}

/** A hash no password matches, for unknown users: same work as a real check. */
export function dummyHash(iterations: number): PasswordHash {
  return { iterations, salt: new Uint8Array(SALT_BYTES), key: "" };
}

/** Does `password` match `stored`? Pass `dummyHash(...)` for an unknown user: same work, always false. */
export async function verifyPassword(stored: PasswordHash, password: string): Promise<boolean> {
  const key = await derive(password, stored.salt, stored.iterations);
  return timingSafeEqual(key, stored.key) && stored.key !== "";
}
