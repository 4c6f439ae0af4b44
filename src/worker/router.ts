/**
 * The whole HTTP surface of Wharf in one table. Each row: method, path, what the caller must be allowed
 * to do, handler. `<name>` matches greedily (names contain "/"), so the resource keyword is found from
 * the right; upload routes come before blob routes for that reason.
 */
import { Router } from "itty-router";
import { type Env, readConfig } from "./config";
import { errorResponse, RegistryError } from "./errors";
import { parseName } from "../oci/grammar";
import { authorize, identify, keepPrivate } from "./http/access";
import { type Action, API_VERSION_HEADER, type Handler, type RequestContext } from "./http/context";
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
import { openStorage } from "./storage/registry";
import { UploadSessions } from "./upload/sessions";

type Method = "GET" | "HEAD" | "POST" | "PATCH" | "PUT" | "DELETE";

const ROUTES: [Method[], string, Action, Handler][] = [
  [["GET", "HEAD"], "/v2/", "login", ping],
  [["GET"], "/v2/token", "none", issueToken],
  [["POST"], "/v2/token", "none", issueTokenOAuth],
  [["GET"], "/v2/_catalog", "catalog", listCatalog],
  [["GET"], "/v2/:name+/tags/list", "pull", listTags],
  [["GET", "HEAD"], "/v2/:name+/manifests/:reference", "pull", getManifest],
  [["PUT"], "/v2/:name+/manifests/:reference", "push", putManifest],
  [["DELETE"], "/v2/:name+/manifests/:reference", "delete", deleteManifest],
  [["POST"], "/v2/:name+/blobs/uploads/", "push", startUpload],
  [["PATCH"], "/v2/:name+/blobs/uploads/:session", "push", patchUpload],
  [["PUT"], "/v2/:name+/blobs/uploads/:session", "push", finishUpload],
  [["GET"], "/v2/:name+/blobs/uploads/:session", "push", uploadStatus],
  [["DELETE"], "/v2/:name+/blobs/uploads/:session", "push", cancelUpload],
  [["HEAD"], "/v2/:name+/blobs/:digest", "pull", headBlob],
  [["GET"], "/v2/:name+/blobs/:digest", "pull", getBlob],
  [["DELETE"], "/v2/:name+/blobs/:digest", "delete", deleteBlob],
  [["GET"], "/v2/:name+/referrers/:digest", "pull", listReferrers],
  [["GET", "HEAD"], `${SIGNED_BLOB_PREFIX}:algorithm/:hex`, "none", getSignedBlob],
  [["POST"], "/_wharf/gc", "gc", startGc],
  [["GET"], "/_wharf/gc", "gc", gcStatus],
  [["GET"], "/_wharf/gc/:id", "gc", gcRun],
];

export function buildRouter() {
  const router = Router<Request, [Env, ExecutionContext]>({
    catch: async (err: unknown, request: Request) => {
      await discardUnreadBody(request);
      return errorResponse(err, request.method);
    },
    finally: [(res: Response | undefined, request: Request) => withVersionHeader(res ?? unrouted(request))],
  });
  for (const [methods, path, action, handler] of ROUTES) {
    for (const method of methods) {
      router[method.toLowerCase() as "get"](path, (request: Request & { params: Record<string, string> }, env: Env) =>
        run(request, env, action, handler),
      );
    }
  }

  /** No route matched: 405 with Allow when the path exists for other methods, else 404. */
  function unrouted(request: Request): Response {
    const path = new URL(request.url).pathname;
    const allowed = [...new Set(router.routes.filter(([, regex]) => regex.test(path)).map(([method]) => method))];
    if (allowed.length) {
      const err = new RegistryError("UNSUPPORTED", `${request.method} is not supported here`, undefined, { Allow: allowed.join(", ") });
      return errorResponse(err, request.method);
    }
    return errorResponse(new RegistryError("NOT_FOUND", `no route for ${request.method} ${path}`), request.method);
  }

  return router;
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

function withVersionHeader(res: Response): Response {
  const headers = new Headers(res.headers);
  for (const [k, v] of Object.entries(API_VERSION_HEADER)) headers.set(k, v);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

async function run(request: Request & { params: Record<string, string> }, env: Env, action: Action, handler: Handler) {
  const config = readConfig(env);
  const params = Object.fromEntries(Object.entries(request.params).map(([k, v]) => [k, decodeURIComponent(v)]));
  const name = params.name !== undefined ? parseName(params.name) : "";
  // Routes that need nothing (token endpoint, signed blob URLs) never look at credentials.
  const caller = action === "none" ? null : await identify(request, env);
  if (caller) authorize(caller, action, name);
  const c: RequestContext = {
    request,
    url: new URL(request.url),
    env,
    config,
    storage: openStorage(env.BUCKET),
    sessions: new UploadSessions(env.UPLOADS, config),
    name,
    params,
    mayPull: async (repo) => caller?.may("pull", repo) ?? false,
    mayPullAll: async () => caller?.mayEverywhere("pull") ?? false,
  };
  const res = await handler(c);
  return caller ? keepPrivate(caller, action, name, res) : res;
}
