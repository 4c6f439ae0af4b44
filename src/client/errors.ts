/**
 * Errors the client throws. A registry's OCI error envelope (`{"errors":[{code,message,detail}]}`)
 * becomes a `RegistryClientError` carrying the first code, its message and the HTTP status; a fetch
 * that never got a response becomes a `NetworkError`.
 */

export interface OciErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

export class RegistryClientError extends Error {
  readonly code: string;
  readonly status: number;
  readonly detail: unknown;
  readonly errors: OciErrorEntry[];

  constructor(status: number, errors: OciErrorEntry[], context = "") {
    const first = errors[0] ?? { code: codeForStatus(status), message: `HTTP ${status}` };
    super(`${context ? `${context}: ` : ""}${first.code}: ${first.message}`);
    this.name = "RegistryClientError";
    this.code = first.code;
    this.status = status;
    this.detail = first.detail;
    this.errors = errors;
  }
}

export class NetworkError extends Error {
  constructor(message: string, readonly cause?: unknown) {
    super(message);
    this.name = "NetworkError";
  }
}

function codeForStatus(status: number): string {
  switch (status) {
    case 401: return "UNAUTHORIZED";
    case 403: return "DENIED";
    case 404: return "NOT_FOUND";
    case 405: return "UNSUPPORTED";
    case 416: return "RANGE_INVALID";
    case 429: return "TOOMANYREQUESTS";
    default: return status >= 500 ? "UNAVAILABLE" : "UNKNOWN";
  }
}

/** Read a failed response into a typed error (the envelope if there is one, else the status). */
export async function errorFromResponse(res: Response, context = ""): Promise<RegistryClientError> {
  let errors: OciErrorEntry[] = [];
  try {
    const text = await res.text();
    if (text) {
      const body = JSON.parse(text) as { errors?: OciErrorEntry[] };
      if (Array.isArray(body.errors)) {
        errors = body.errors.map((e) => ({ code: String(e.code ?? "UNKNOWN"), message: String(e.message ?? ""), detail: e.detail }));
      }
    }
  } catch {
    // not JSON: keep the status
  }
  return new RegistryClientError(res.status, errors, context);
}

/** Statuses worth retrying for an operation that is safe to repeat. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}
