/**
 * The Worker's own signed blob URLs: /_wharf/blobs/<alg>/<hex>?exp=<unix seconds>&sig=<HMAC>.
 *
 * Expiry is cut on windows of `ttl` seconds (a URL lives between ttl and 2·ttl), so every pull of the same
 * blob within one window gets the same URL and Cloudflare's cache can serve it. The signature covers the
 * digest and the expiry; the repository was checked when the URL was handed out.
 */
import { DomainError } from "../domain-errors";
import type { Digest } from "../../oci/grammar";
import { base64url } from "../../oci/encoding";
import { hmacSha256, timingSafeEqual } from "./hmac";

export const SIGNED_BLOB_PREFIX = "/_wharf/blobs/";

const payload = (digest: Digest, exp: number) => `wharf-blob\n${digest}\n${exp}`;

export function windowExpiry(nowSeconds: number, ttl: number): number {
  return (Math.floor(nowSeconds / ttl) + 2) * ttl;
}

export async function signBlobPath(secret: string, digest: Digest, ttl: number, nowSeconds = Date.now() / 1000): Promise<string> {
  const exp = windowExpiry(nowSeconds, ttl);
  const sig = base64url(await hmacSha256(secret, payload(digest, exp)));
  return `${SIGNED_BLOB_PREFIX}${digest.algorithm}/${digest.hex}?exp=${exp}&sig=${sig}`;
}

/** Check a signed URL's query; returns seconds left. Throws SIGNATURE_INVALID when incomplete, tampered with or expired. */
export async function verifyBlobSignature(
  secret: string,
  digest: Digest,
  exp: string | null,
  sig: string | null,
  nowSeconds = Date.now() / 1000,
): Promise<number> {
  const expiry = Number(exp);
  if (!exp || !sig || !Number.isSafeInteger(expiry)) throw new DomainError("SIGNATURE_INVALID", "signed URL incomplete");
  const expected = base64url(await hmacSha256(secret, payload(digest, expiry)));
  if (!timingSafeEqual(expected, sig)) throw new DomainError("SIGNATURE_INVALID", "signed URL signature invalid");
  if (expiry <= nowSeconds) throw new DomainError("SIGNATURE_INVALID", "signed URL expired");
  return Math.floor(expiry - nowSeconds);
}
