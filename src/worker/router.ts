/**
 * The whole HTTP surface of Wharf in one table. Each row: method, path, what the caller must be allowed
 * to do, handler. `<name>` matches greedily (names contain "/"), so the resource keyword is found from
 * the right; upload routes come before blob routes for that reason.
 */
import { Router } from "itty-router";
import type { Env } from "./config";
import { type EventRequest, eventSink } from "./events";
import { type Metrics, METRICS, metricsFor } from "./metrics";
import type { Principal } from "./auth/authenticate";
import { chargeCiToken, loginGuard } from "./limits";
import { RequestLog } from "./http/request-log";
import { readSettings, SettingsError } from "./settings";
import { errorResponse, RegistryError } from "./errors";
import { parseName } from "../oci/grammar";
import { authorize, identify, keepPrivate } from "./http/access";
import { type Action, API_VERSION_HEADER, type Handler, type RequestContext } from "./http/context";
import { decodeParams } from "./http/params";
import { ping } from "./http/handlers/base";
import { issueToken, issueTokenOAuth } from "./http/handlers/token";
import { deleteBlob, getBlob, getSignedBlob, headBlob } from "./http/handlers/blobs";
import { listCatalog } from "./http/handlers/catalog";
import { gcRun, gcStatus, startGc } from "./http/handlers/gc";
import { deleteManifest, getManifest, putManifest } from "./http/handlers/manifests";
import { listReferrers } from "./http/handlers/referrers";
import { listTags } from "./http/handlers/tags";
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from "./http/handlers/uploads";
import { SIGNED_BLOB_PREFIX } from "./signing/blob-url";
import { Repositories } from "./repository/client";
import { openStorage } from "./storage/registry";
import { renderUiError, ui } from "./ui/routes";
import { UploadSessions } from "./upload/sessions";
import { refusedInCache, viaProxyBlob, viaProxyManifest, viaProxyTags } from "./proxy/handlers";

type Method = "GET" | "HEAD" | "POST" | "PATCH" | "PUT" | "DELETE";

/**
 * A route group: the paths it owns, how an error becomes a response there, and what every response of
 * the group carries. `/v2` speaks the OCI API (JSON error envelope, API version header); `/_wharf` is
 * Wharf's own (signed blob URLs, admin endpoints), also with OCI JSON errors; the web UI (src/worker/ui)
 * owns the rest of the paths with HTML error pages.
 */
interface RouteGroup {
  owns(path: string): boolean;
  renderError(err: unknown, request: Request): Response;
  /** Headers every response of the group carries. */
  headers: Record<string, string>;
}

const API: RouteGroup = {
  owns: (path) => path === "/v2" || path.startsWith("/v2/"),
  renderError: (err, request) => errorResponse(err, request.method),
  headers: API_VERSION_HEADER,
};

const INTERNAL: RouteGroup = {
  owns: (path) => path.startsWith("/_wharf/"),
  renderError: (err, request) => errorResponse(err, request.method),
  headers: {},
};

const UI: RouteGroup = {
  owns: () => true,
  renderError: (err, request) => {
    const res = renderUiError(err);
    return request.method === "HEAD" ? new Response(null, { status: res.status, headers: res.headers }) : res;
  },
  headers: {},
};

/** Groups in the order their `owns` is asked; the last one owns every other path. */
const GROUPS: RouteGroup[] = [API, INTERNAL, UI];

function groupOf(path: string): RouteGroup {
  return GROUPS.find((g) => g.owns(path)) ?? GROUPS[GROUPS.length - 1];
}

/** Every route: group, methods, path, what the caller must be allowed to do, handler. */
const ROUTES: [RouteGroup, Method[], string, Action, Handler][] = [
  [API, ["GET", "HEAD"], "/v2/", "login", ping],
  [API, ["GET"], "/v2/token", "none", issueToken],
  [API, ["POST"], "/v2/token", "none", issueTokenOAuth],
  [API, ["GET"], "/v2/_catalog", "catalog", listCatalog],
  // viaProxy*: served from the pull-through cache when the name belongs to an upstream (src/worker/proxy/);
  // refusedInCache: pushes and deletes under a proxy prefix are refused.
  [API, ["GET"], "/v2/:name+/tags/list", "pull", viaProxyTags(listTags)],
  [API, ["GET", "HEAD"], "/v2/:name+/manifests/:reference", "pull", viaProxyManifest(getManifest)],
  [API, ["PUT"], "/v2/:name+/manifests/:reference", "push", refusedInCache(putManifest)],
  [API, ["DELETE"], "/v2/:name+/manifests/:reference", "delete", refusedInCache(deleteManifest)],
  [API, ["POST"], "/v2/:name+/blobs/uploads/", "push", refusedInCache(startUpload)],
  [API, ["PATCH"], "/v2/:name+/blobs/uploads/:session", "push", refusedInCache(patchUpload)],
  [API, ["PUT"], "/v2/:name+/blobs/uploads/:session", "push", refusedInCache(finishUpload)],
  [API, ["GET"], "/v2/:name+/blobs/uploads/:session", "push", refusedInCache(uploadStatus)],
  [API, ["DELETE"], "/v2/:name+/blobs/uploads/:session", "push", refusedInCache(cancelUpload)],
  [API, ["HEAD"], "/v2/:name+/blobs/:digest", "pull", viaProxyBlob(headBlob)],
  [API, ["GET"], "/v2/:name+/blobs/:digest", "pull", viaProxyBlob(getBlob)],
  [API, ["DELETE"], "/v2/:name+/blobs/:digest", "delete", refusedInCache(deleteBlob)],
  [API, ["GET"], "/v2/:name+/referrers/:digest", "pull", listReferrers],
  [INTERNAL, ["GET", "HEAD"], `${SIGNED_BLOB_PREFIX}:algorithm/:hex`, "none", getSignedBlob],
  [INTERNAL, ["POST"], "/_wharf/gc", "gc", startGc],
  [INTERNAL, ["GET"], "/_wharf/gc", "gc", gcStatus],
  [INTERNAL, ["GET"], "/_wharf/gc/:id", "gc", gcRun],
  // Web UI: "none" because pages read the session cookie, never the Authorization header (src/worker/ui/routes.ts).
  [UI, ["GET", "HEAD"], "/", "none", ui.repositories],
  [UI, ["GET", "HEAD"], "/r/:ref+", "none", ui.reference],
  [UI, ["POST"], "/r/:ref+", "none", ui.referenceSubmit],
  [UI, ["GET", "HEAD"], "/getting-started", "none", ui.gettingStarted],
  [UI, ["GET", "HEAD"], "/sign-in", "none", ui.signIn],
  [UI, ["POST"], "/sign-in", "none", ui.signInSubmit],
  [UI, ["POST"], "/sign-out", "none", ui.signOut],
  [UI, ["GET", "HEAD"], "/static/:file", "none", ui.asset],
];

type RoutedRequest = Request & { params: Record<string, string> };
type LoggedRequest = RoutedRequest & { log: RequestLog; metrics: Metrics };

/**
 * The request pipeline, in order: request id and log line → settings (validated once; a broken
 * setting is answered and logged naming it) → route parameters checked against the grammar →
 * authenticate (failed logins limited per address, src/worker/limits/) → the CI token's request
 * budget → authorize → handler (events and counters on the context) → keep-private (credentials-only
 * responses are not publicly cacheable) → the group's finishing headers → log line and request
 * counters. An error at any step is rendered by the route's group after the unread request body is
 * drained.
 */
export function buildRouter() {
  const router = Router<RoutedRequest, [Env, ExecutionContext]>();
  for (const [group, methods, path, action, handler] of ROUTES) {
    // Errors are rendered by the group that owns the path, so a row must sit in that group.
    if (groupOf(path.replace(/:\w+\+?/g, "x")) !== group) throw new Error(`route ${path} is not in the group that owns its path`);
    for (const method of methods) {
      router[method.toLowerCase() as "get"](path, (request: RoutedRequest, env: Env, ctx: ExecutionContext) =>
        run(request as LoggedRequest, env, ctx, action, handler),
      );
    }
  }

  /** No route matched: 405 with Allow when the path exists for other methods, else 404 NAME_UNKNOWN. */
  function unrouted(request: Request): never {
    const path = new URL(request.url).pathname;
    const allowed = [...new Set(router.routes.filter(([, regex]) => regex.test(path)).map(([method]) => method))];
    if (allowed.length) {
      throw new RegistryError("UNSUPPORTED", `${request.method} is not supported here`, undefined, { Allow: allowed.join(", ") });
    }
    // No endpoint here: 404 with a code from the spec's table (docs/decisions.md, "unknown route").
    throw new RegistryError("NAME_UNKNOWN", `no route for ${request.method} ${path}`);
  }

  return {
    async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
      const path = new URL(request.url).pathname;
      const group = groupOf(path);
      const requestId = request.headers.get("cf-ray") ?? crypto.randomUUID();
      const log = new RequestLog(requestId, logEnabled(env));
      const metrics = metricsFor(env.METRICS);
      let res: Response;
      try {
        res = (await router.fetch(Object.assign(request, { log, metrics }), env, ctx)) ?? unrouted(request);
      } catch (err) {
        await discardUnreadBody(request);
        if (err instanceof SettingsError) {
          console.error(JSON.stringify({ level: "error", requestId, message: `registry misconfigured: ${err.message}` }));
          err = new RegistryError("UNKNOWN", `registry misconfigured: ${err.message}`);
        }
        res = group.renderError(err, request);
      }
      res = withHeaders(res, { ...group.headers, "Wharf-Request-Id": requestId });
      log.finish(request, res);
      countRequest(metrics, log, request, res);
      return res;
    },
  };
}

/** requests, bytes_in and bytes_out (src/worker/metrics/names.ts), by route; unrouted requests count as route "". */
function countRequest(metrics: Metrics, log: RequestLog, request: Request, res: Response): void {
  const route = String(log.get("route") ?? "");
  const repository = log.get("repository") === undefined ? "" : String(log.get("repository"));
  metrics.count(METRICS.requests, 1, { route, status: String(res.status), repository });
  const bytesIn = Number(request.headers.get("Content-Length") ?? 0);
  const bytesOut = request.method === "HEAD" ? 0 : Number(res.headers.get("Content-Length") ?? 0);
  if (bytesIn > 0) metrics.count(METRICS.bytes_in, bytesIn, { route, repository });
  if (bytesOut > 0) metrics.count(METRICS.bytes_out, bytesOut, { route, repository });
}

/** Log lines are on unless LOG_REQUESTS=false (read raw: a broken setting must still be logged). */
function logEnabled(env: Env): boolean {
  return env.LOG_REQUESTS?.trim().toLowerCase() !== "false";
}

/**
 * An error answered before the request body was read (413 over MAX_CHUNK_BYTES, a bad Content-Range):
 * read the body to its end first. workerd resets a connection closed with unread data, and the client
 * then loses the answer, so a client pushing a too-large chunk would never see the 413 telling it to
 * push in chunks. Past DRAIN_LIMIT bytes we stop reading and let the connection drop: a refused body is
 * not worth gigabytes of work (behind Cloudflare the edge caps bodies at 100 MB anyway).
 */
const DRAIN_LIMIT = 256 * 1024 * 1024;

async function discardUnreadBody(request: Request): Promise<void> {
  if (!request.body || request.bodyUsed || request.body.locked) return;
  const reader = request.body.getReader();
  let read = 0;
  try {
    while (read <= DRAIN_LIMIT) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // the client went away: nothing to answer
  }
}

/** The response with more headers (a copy: fetched and cached responses have immutable headers). */
function withHeaders(res: Response, extra: Record<string, string>): Response {
  const headers = new Headers(res.headers);
  for (const [k, v] of Object.entries(extra)) headers.set(k, v);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

async function run(
  request: LoggedRequest,
  env: Env,
  ctx: ExecutionContext,
  action: Action,
  handler: Handler,
): Promise<Response> {
  const settings = readSettings(env);
  const params = decodeParams(request.params);
  const name = params.name !== undefined ? parseName(params.name) : "";
  const log = request.log;
  log.set({ route: (request as { route?: string }).route, repository: name || undefined });
  // Routes that need nothing (token endpoint, signed blob URLs) never look at credentials.
  const guard = loginGuard(env.LIMITER, settings.LOGIN_FAILURES_PER_MINUTE, request);
  const caller = action === "none" ? null : await identify(request, env, guard, request.metrics);
  if (caller) {
    log.set({ caller: caller.describe() });
    await chargeCiToken(env.LIMITER, settings.CI_TOKEN_REQUESTS_PER_MINUTE, caller.identity.principal);
    authorize(caller, action, name);
  }
  const url = new URL(request.url);
  const origin: EventRequest = {
    id: log.requestId,
    addr: request.headers.get("CF-Connecting-IP") ?? "",
    host: url.host,
    method: request.method,
    useragent: request.headers.get("User-Agent") ?? "",
    actor: actorName(caller?.identity.principal),
    origin: url.origin,
  };
  const c: RequestContext = {
    request,
    url,
    env,
    settings,
    requestId: log.requestId,
    caller,
    storage: openStorage(env.BUCKET),
    repositories: new Repositories(env.REPOSITORIES),
    sessions: new UploadSessions(env.UPLOADS, settings),
    name,
    params,
    waitUntil: (p) => ctx.waitUntil(p),
    events: eventSink(env.EVENTS, settings.WEBHOOKS, origin, (p) => ctx.waitUntil(p)),
    metrics: request.metrics,
    log,
    mayPull: async (repo) => caller?.may("pull", repo) ?? false,
    mayPullAll: async () => caller?.mayEverywhere("pull") ?? false,
  };
  const res = await handler(c);
  return caller ? keepPrivate(caller, action, name, res) : res;
}

/** `actor.name` of events: the user, or the subject a token was issued to; "" for anonymous callers. */
function actorName(p: Principal | undefined): string {
  if (p?.kind === "user") return p.name;
  if (p?.kind === "token") return p.token.subject;
  return "";
}
