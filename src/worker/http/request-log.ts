/**
 * One structured JSON log line per request (what `wrangler tail` and Workers Logs show): request id,
 * method, route, repository, status, bytes, duration, caller, and whatever handlers add with `set`
 * (for example `cache: "hit"`). LOG_REQUESTS=false turns the lines off (the Worker tests do).
 */

export class RequestLog {
  private readonly fields: Record<string, unknown> = {};
  private readonly started = Date.now();

  constructor(
    readonly requestId: string,
    private readonly enabled: boolean,
  ) {}

  set(fields: Record<string, unknown>): void {
    Object.assign(this.fields, fields);
  }

  /** A field set so far (the router reads `route` and `repository` back for its counters). */
  get(name: string): unknown {
    return this.fields[name];
  }

  /** Write the line for a finished request. */
  finish(request: Request, response: Response): void {
    if (!this.enabled) return;
    const url = new URL(request.url);
    const line = {
      level: response.status >= 500 ? "error" : "info",
      requestId: this.requestId,
      method: request.method,
      path: url.pathname,
      status: response.status,
      bytesIn: numberOrUndefined(request.headers.get("Content-Length")),
      bytesOut: numberOrUndefined(response.headers.get("Content-Length")),
      durationMs: Date.now() - this.started,
      ...this.fields,
    };
    console.log(JSON.stringify(line));
  }
}

function numberOrUndefined(v: string | null): number | undefined {
  return v === null ? undefined : Number(v);
}
