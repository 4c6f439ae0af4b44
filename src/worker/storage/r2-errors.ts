/**
 * R2's numeric error codes (https://developers.cloudflare.com/r2/api/error-codes/). Production R2
 * errors carry the code as `code`; the local simulator (miniflare) throws a plain Error whose message
 * ends with it, "put: The SHA-256 checksum you specified did not match what we received. ... (10037)",
 * so the trailing "(<code>)" is read when `code` is absent. Only the code is read, never the prose.
 */

/** A checksum given with a put (sha256, sha512, md5 ...) does not match the bytes received. */
export const R2_BAD_DIGEST = 10037;

export function r2ErrorCode(err: unknown): number | null {
  if (typeof err !== "object" || err === null) return null;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "number") return code;
  const m = /\((\d{5})\)\s*$/.exec(String((err as { message?: unknown }).message ?? ""));
  return m ? Number(m[1]) : null;
}
