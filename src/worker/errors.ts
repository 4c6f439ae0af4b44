/**
 * Every OCI error code Wharf can answer with, declared once with its HTTP status
 * (the pattern of distribution's registry/api/errcode/register.go), and the one table that maps the
 * domain errors of storage, upload sessions and signing (domain-errors.ts), and the grammar's format
 * errors, onto them.
 *
 * Handlers throw `RegistryError`; storage and the upload session throw `DomainError`; the shared OCI
 * grammar (src/oci) throws `OciFormatError`. Exactly one place
 * (`errorResponse`, used by the router's route groups) turns either into the OCI JSON envelope.
 * Anything else is a bug in Wharf or a dependency that is down, and becomes 500 UNKNOWN.
 */
import { OciFormatError, type OciRule } from "../oci/errors";
import { DomainError, type DomainErrorKind } from "./domain-errors";

export const ErrorCodes = {
  BLOB_UNKNOWN: { status: 404, message: "blob unknown to registry" },
  BLOB_UPLOAD_INVALID: { status: 400, message: "blob upload invalid" },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: "blob upload unknown to registry" },
  DIGEST_INVALID: { status: 400, message: "provided digest did not match uploaded content" },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: "manifest references a manifest or blob unknown to registry" },
  MANIFEST_INVALID: { status: 400, message: "manifest invalid" },
  MANIFEST_UNKNOWN: { status: 404, message: "manifest unknown to registry" },
  NAME_INVALID: { status: 400, message: "invalid repository name" },
  NAME_UNKNOWN: { status: 404, message: "repository name not known to registry" },
  SIZE_INVALID: { status: 400, message: "provided length did not match content length" },
  TAG_INVALID: { status: 400, message: "manifest tag did not match URI" },
  UNAUTHORIZED: { status: 401, message: "authentication required" },
  DENIED: { status: 403, message: "requested access to the resource is denied" },
  UNSUPPORTED: { status: 405, message: "the operation is unsupported" },
  TOOMANYREQUESTS: { status: 429, message: "too many requests" },
  RANGE_INVALID: { status: 416, message: "invalid content range" },
  PAGINATION_NUMBER_INVALID: { status: 400, message: "invalid number of results requested" },
  MANIFEST_TOO_LARGE: { status: 413, message: "manifest too large" },
  BLOB_UPLOAD_TOO_LARGE: { status: 413, message: "request body too large" },
  NOT_FOUND: { status: 404, message: "no such route" },
  UNAVAILABLE: { status: 503, message: "service unavailable" },
  UNKNOWN: { status: 500, message: "unknown error" },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** The code as it appears in the JSON envelope: our own codes map onto the nearest spec code. */
const wireCode: Partial<Record<ErrorCode, string>> = {
  MANIFEST_TOO_LARGE: "MANIFEST_INVALID",
  BLOB_UPLOAD_TOO_LARGE: "SIZE_INVALID",
  NOT_FOUND: "NOT_FOUND",
};

/** The OCI code each domain error is answered with. */
const DOMAIN_CODES: Record<DomainErrorKind, ErrorCode> = {
  BLOB_UNKNOWN: "BLOB_UNKNOWN",
  DIGEST_MISMATCH: "DIGEST_INVALID",
  UPLOAD_UNKNOWN: "BLOB_UPLOAD_UNKNOWN",
  CHUNK_OUT_OF_ORDER: "RANGE_INVALID",
  CHUNK_INCOMPLETE: "BLOB_UPLOAD_INVALID",
  CHUNK_NOT_STORED: "UNAVAILABLE",
  UPLOAD_INCOMPLETE: "BLOB_UPLOAD_INVALID",
  MANIFEST_UNKNOWN: "MANIFEST_UNKNOWN",
  SIGNATURE_INVALID: "DENIED",
};

/** The OCI code a value that breaks the grammar is answered with. */
const FORMAT_CODES: Record<OciRule, ErrorCode> = {
  name: "NAME_INVALID",
  tag: "TAG_INVALID",
  digest: "DIGEST_INVALID",
  manifest: "MANIFEST_INVALID",
};

/** The registry error a domain error is answered with; `headers` are the handler's (Range ...). */
export function fromDomain(err: DomainError, headers: Record<string, string> = {}): RegistryError {
  return new RegistryError(DOMAIN_CODES[err.kind], err.message, err.detail, headers);
}

export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly detail: unknown;
  /** Extra response headers (WWW-Authenticate, Range, Retry-After ...). */
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message?: string, detail?: unknown, headers: Record<string, string> = {}) {
    super(message ?? ErrorCodes[code].message);
    this.name = "RegistryError";
    this.code = code;
    this.detail = detail;
    this.headers = headers;
  }

  get status(): number {
    return ErrorCodes[this.code].status;
  }
}

/** The registry error an error thrown anywhere is answered with; null for a bug or an outage (500). */
export function asRegistryError(err: unknown): RegistryError | null {
  if (err instanceof RegistryError) return err;
  if (err instanceof DomainError) return fromDomain(err);
  if (err instanceof OciFormatError) return new RegistryError(FORMAT_CODES[err.what], err.message);
  return null;
}

/** The one place an error becomes an HTTP response (the OCI JSON envelope). */
export function errorResponse(err: unknown, method = "GET"): Response {
  let e = asRegistryError(err);
  if (!e) {
    console.error("unhandled error", err);
    e = new RegistryError("UNKNOWN", "internal error");
  }
  const body = JSON.stringify({
    errors: [{ code: wireCode[e.code] ?? e.code, message: e.message, detail: e.detail ?? null }],
  });
  const headers = new Headers({ "Content-Type": "application/json", ...e.headers });
  if (method === "HEAD") {
    headers.set("Content-Length", String(new TextEncoder().encode(body).length));
    return new Response(null, { status: e.status, headers });
  }
  return new Response(body, { status: e.status, headers });
}
