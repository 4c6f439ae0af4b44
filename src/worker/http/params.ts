/**
 * Route parameters as the router matched them (still percent-encoded), decoded safely. A malformed escape
 * (`%zz`, a lone `%`, a truncated UTF-8 sequence such as `%E0%A4%A`) is the client's mistake: it becomes a
 * 400 with the code of the parameter it broke, never an uncaught URIError (a 500).
 */
import { type ErrorCode, RegistryError } from "../errors";

/** What a parameter that does not decode is reported as, by route parameter name. */
const CODE_OF: Record<string, (raw: string) => ErrorCode> = {
  name: () => "NAME_INVALID",
  reference: (raw) => (raw.includes(":") ? "DIGEST_INVALID" : "TAG_INVALID"),
  digest: () => "DIGEST_INVALID",
  algorithm: () => "DIGEST_INVALID",
  hex: () => "DIGEST_INVALID",
  session: () => "BLOB_UPLOAD_INVALID",
};

export function decodeParam(key: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    const code = CODE_OF[key]?.(raw) ?? "UNSUPPORTED";
    const shown = raw.length > 80 ? `${raw.slice(0, 80)}...` : raw;
    throw new RegistryError(code, `malformed percent-escape in ${key}: ${shown}`);
  }
}

export function decodeParams(params: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, decodeParam(k, v)]));
}
