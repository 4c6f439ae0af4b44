/** The Worker: the OCI Distribution API and the web UI (router.ts), and the upload session Durable Object class. */
import type { Env } from "./config";
import { buildRouter } from "./router";

export { UploadSession } from "./upload/session";

const router = buildRouter();

export default {
  fetch: (request: Request, env: Env, ctx: ExecutionContext) => router.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
