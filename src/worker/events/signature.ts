/**
 * `Wharf-Signature: sha256=<hex>`: HMAC-SHA256 of the exact request body with the endpoint's secret,
 * the scheme GitHub's `X-Hub-Signature-256` made familiar. A receiver recomputes it over the raw body
 * and compares in constant time before parsing anything.
 */
import { toHex } from "../../oci/encoding";
import { hmacSha256 } from "../signing/hmac";

export const SIGNATURE_HEADER = "Wharf-Signature";

export async function signBody(secret: string, body: string): Promise<string> {
  return `sha256=${toHex(await hmacSha256(secret, body))}`;
}
