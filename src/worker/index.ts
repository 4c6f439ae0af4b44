/**
 * The Worker: the OCI Distribution API and the web UI (router.ts), the cron trigger that starts garbage
 * collection, and the Durable Object classes (upload sessions, repositories, blob fills, the GC coordinator).
 */
import type { Env } from "./config";
import { scheduledGc } from "./gc/stub";
import { buildRouter } from "./router";

export { UploadSession } from "./upload/session";
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
} satisfies ExportedHandler<Env>;
