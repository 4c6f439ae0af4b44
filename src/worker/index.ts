/**
 * The Worker: the OCI Distribution API and the web UI (router.ts), the cron trigger that starts garbage
 * collection, the events queue consumer (webhooks), and the Durable Object classes (upload sessions,
 * repositories, blob fills, the GC coordinator, rate windows).
 */
import type { Env } from "./config";
import { handleQueue } from "./events/queue";
import { scheduledGc } from "./gc/stub";
import { buildRouter } from "./router";

export { UploadSession } from "./upload/session";
export { RateWindow } from "./limits";
export { Repository } from "./repository/object";
export { BlobFill } from "./proxy/fill";
export { GcCoordinator } from "./gc/coordinator";

const router = buildRouter();

export default {
  fetch: (request: Request, env: Env, ctx: ExecutionContext) => router.fetch(request, env, ctx),
  scheduled: async (controller: ScheduledController, env: Env) => {
    const { id, started } = await scheduledGc(env, controller.cron);
    console.log(JSON.stringify({ message: started ? `gc run ${id} started by cron` : `gc run ${id} still running`, cron: controller.cron }));
  },
  queue: (batch: MessageBatch<unknown>, env: Env) => handleQueue(batch, env),
} satisfies ExportedHandler<Env>;
