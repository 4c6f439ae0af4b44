/** The Worker: the OCI Distribution API (router.ts) and the upload session Durable Object class. */
import type { Env } from "./config";
import { buildRouter } from "./router";

export { UploadSession } from "./upload/session";
export { Repository } from "./repository/object";

const router = buildRouter();

export default {
  fetch: (request: Request, env: Env, ctx: ExecutionContext) => router.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
