/** The Worker: the OCI Distribution API (router.ts), the events queue consumer, and the Durable Object classes. */
import type { Env } from "./config";
import { handleQueue } from "./events/queue";
import { buildRouter } from "./router";

export { UploadSession } from "./upload/session";
export { RateWindow } from "./limits";
export { Repository } from "./repository/object";

const router = buildRouter();

export default {
  fetch: (request: Request, env: Env, ctx: ExecutionContext) => router.fetch(request, env, ctx),
  queue: (batch: MessageBatch<unknown>, env: Env) => handleQueue(batch, env),
} satisfies ExportedHandler<Env>;
