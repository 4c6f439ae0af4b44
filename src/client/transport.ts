/**
 * One registry host over fetch: base URL, authentication, and retries.
 *
 * Retry policy: a request marked `idempotent` (GET, HEAD, manifest PUT, monolithic blob POST by digest,
 * DELETE) is repeated on network errors, 429 and 5xx with exponential backoff and jitter, honouring
 * `Retry-After`. Chunk uploads are not repeated blindly; the upload code re-synchronises with the
 * session instead (see upload.ts). Bodies are always byte arrays, so a request can be re-sent after a
 * 401 challenge or a retry.
 */
import { AuthState, type CredentialsProvider } from "./auth";
import { errorFromResponse, isRetryableStatus, NetworkError } from "./errors";

export interface RetryOptions {
  /** Attempts after the first. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { retries: 5, baseDelayMs: 300, maxDelayMs: 8000 };

export interface TransportOptions {
  fetch?: typeof fetch;
  credentials?: CredentialsProvider;
  retry?: Partial<RetryOptions>;
  userAgent?: string;
  /**
   * Send large byte bodies as a stream of views with an explicit Content-Length instead of handing the
   * array to fetch. Node's fetch copies an array body whole, so chunk uploads would pile up copies until
   * the next GC; default on in Node, off elsewhere (Workers want a plain array for a fixed length).
   */
  streamBodies?: boolean;
}

const STREAM_SLICE = 1 << 20;

/** A byte array as a stream of 1 MiB views (no copy). */
function sliceStream(body: Uint8Array): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(c) {
      if (off >= body.byteLength) return c.close();
      c.enqueue(body.subarray(off, off + STREAM_SLICE));
      off += STREAM_SLICE;
    },
  });
}

export interface RegistryRequest {
  method: string;
  /** A path ("/v2/...") or an absolute URL (upload locations, Link targets). */
  url: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  scopes: string[];
  idempotent: boolean;
  /** Follow redirects (blob GETs) or return them. */
  redirect?: "follow" | "manual";
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function backoffDelay(attempt: number, retry: RetryOptions, retryAfter?: string | null): number {
  if (retryAfter) {
    const s = Number(retryAfter);
    if (Number.isFinite(s) && s >= 0) return Math.min(s * 1000, retry.maxDelayMs * 4);
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.min(Math.max(0, at - Date.now()), retry.maxDelayMs * 4);
  }
  const exp = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** attempt);
  return exp / 2 + Math.random() * (exp / 2);
}

export class Transport {
  readonly baseUrl: string;
  readonly retry: RetryOptions;
  private fetchFn: typeof fetch;
  private auth: AuthState;
  private userAgent: string;
  private streamBodies: boolean;

  constructor(baseUrl: string, host: string, opts: TransportOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.auth = new AuthState(host, opts.credentials ?? (() => undefined), this.fetchFn);
    this.userAgent = opts.userAgent ?? "wharf-client/0.1";
    const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
    this.streamBodies = opts.streamBodies ?? Boolean(proc?.versions?.node && !navigatorIsWorkers());
  }

  resolve(url: string): string {
    return new URL(url, `${this.baseUrl}/`).toString();
  }

  /** Send once (with at most one re-send after an auth challenge). Throws NetworkError when no response came. */
  async send(req: RegistryRequest): Promise<Response> {
    let authHeader = await this.auth.header(req.scopes);
    for (let round = 0; ; round++) {
      const headers: Record<string, string> = { "User-Agent": this.userAgent, ...req.headers };
      if (authHeader) headers.Authorization = authHeader;
      let body: BodyInit | undefined = req.body as BodyInit | undefined;
      const init: RequestInit & { duplex?: "half" } = { method: req.method, headers, redirect: req.redirect ?? "follow" };
      if (req.body && this.streamBodies && req.body.byteLength > STREAM_SLICE) {
        body = sliceStream(req.body);
        headers["Content-Length"] = String(req.body.byteLength);
        init.duplex = "half";
      }
      init.body = body;
      let res: Response;
      try {
        res = await this.fetchFn(this.resolve(req.url), init);
      } catch (err) {
        throw new NetworkError(`${req.method} ${this.resolve(req.url)}: ${describe(err)}`, err);
      }
      if (res.status !== 401 || round > 0) return res;
      const retry = await this.auth.onChallenge(res.headers.get("WWW-Authenticate"), req.scopes, authHeader !== undefined);
      if (!retry) return res;
      await res.body?.cancel();
      authHeader = await this.auth.header(req.scopes);
    }
  }

  /** Send with the retry policy; returns the final response whatever its status. */
  async request(req: RegistryRequest): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const last = !req.idempotent || attempt >= this.retry.retries;
      let res: Response;
      try {
        res = await this.send(req);
      } catch (err) {
        if (last || !(err instanceof NetworkError)) throw err;
        await sleep(backoffDelay(attempt, this.retry));
        continue;
      }
      if (last || !isRetryableStatus(res.status)) return res;
      const after = res.headers.get("Retry-After");
      await res.body?.cancel();
      await sleep(backoffDelay(attempt, this.retry, after));
    }
  }

  /** `request`, then throw the typed registry error unless the status is one of `ok`. */
  async expect(req: RegistryRequest, ok: number[], context: string): Promise<Response> {
    const res = await this.request(req);
    if (!ok.includes(res.status)) throw await errorFromResponse(res, context);
    return res;
  }
}

function navigatorIsWorkers(): boolean {
  const nav = (globalThis as { navigator?: { userAgent?: string } }).navigator;
  return nav?.userAgent === "Cloudflare-Workers";
}

function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause ? `${e.message ?? err} (${cause})` : String(e?.message ?? err);
}
