/**
 * Every OCI error code Wharf can answer with, declared once with its HTTP status
 * (the pattern of distribution's registry/api/errcode/register.go).
 *
 * Handlers and storage throw `RegistryError`; exactly one place (`errorResponse`, used by the router's
 * catch) turns an error into the OCI JSON envelope. Anything that is not a RegistryError is a bug in
 * Wharf or a dependency that is down, and becomes 500 UNKNOWN / 503 UNAVAILABLE.
 */

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
  TAG_IMMUTABLE: { status: 409, message: "tag is immutable" },
  GC_RUN_UNKNOWN: { status: 404, message: "garbage collection run unknown" },
  UNSUPPORTED_PARAMETER: { status: 400, message: "query parameter invalid" },
  UNAVAILABLE: { status: 503, message: "service unavailable" },
  UNKNOWN: { status: 500, message: "unknown error" },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** The code as it appears in the JSON envelope: our own codes map onto the nearest spec code. */
const wireCode: Partial<Record<ErrorCode, string>> = {
  MANIFEST_TOO_LARGE: "MANIFEST_INVALID",
  BLOB_UPLOAD_TOO_LARGE: "SIZE_INVALID",
  NOT_FOUND: "NOT_FOUND",
  TAG_IMMUTABLE: "DENIED",
  UNSUPPORTED_PARAMETER: "UNSUPPORTED",
};

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

  /** Plain form that crosses a Durable Object RPC boundary unchanged. */
  toWire(): WireError {
    return { code: this.code, message: this.message, detail: this.detail, headers: this.headers };
  }

  static fromWire(w: WireError): RegistryError {
    return new RegistryError(w.code, w.message, w.detail, w.headers);
  }
}

export interface WireError {
  code: ErrorCode;
  message: string;
  detail?: unknown;
  headers?: Record<string, string>;
}

/** The one place an error becomes an HTTP response. */
export function errorResponse(err: unknown, method = "GET"): Response {
  const e =
    err instanceof RegistryError
      ? err
      : new RegistryError("UNKNOWN", "internal error", undefined);
  if (!(err instanceof RegistryError)) console.error("unhandled error", err);
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
