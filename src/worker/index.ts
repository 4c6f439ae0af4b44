/** The Worker: the OCI Distribution API (router.ts), the events queue consumer, and the Durable Object classes. */
import type { Env } from "./config";
import { handleQueue } from "./events/queue";
import { parseWebhooks } from "./events/webhooks";
import { buildRouter } from "./router";

export { UploadSession } from "./upload/session";
export { RateWindow } from "./limits/rate-window";

const router = buildRouter();

export default {
  fetch: (request: Request, env: Env, ctx: ExecutionContext) => router.fetch(request, env, ctx),
  queue: (batch: MessageBatch<unknown>, env: Env) =>
    handleQueue(batch, env, parseWebhooks(env.WEBHOOKS ? JSON.parse(env.WEBHOOKS) : []), Number(env.WEBHOOK_MAX_ATTEMPTS || 10)),
} satisfies ExportedHandler<Env>;
