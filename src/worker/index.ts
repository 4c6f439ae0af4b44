/** The Worker: the OCI Distribution API (router.ts), the web UI (ui/routes.ts) and the upload session Durable Object class. */
import type { Env } from "./config";
import { buildRouter } from "./router";
import { handleUi, isUiPath } from "./ui/routes";

export { UploadSession } from "./upload/session";

const router = buildRouter();

export default {
  fetch: (request: Request, env: Env, ctx: ExecutionContext) =>
    isUiPath(new URL(request.url).pathname) ? handleUi(request, env) : router.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
