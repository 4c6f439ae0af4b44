/** The Worker's `queue` handler: it consumes only the EVENTS queue (wrangler.toml), so every batch is deliveries. */
import type { Env } from "../config";
import { deliverBatch } from "./deliver";
import type { Webhook } from "./webhooks";

export async function handleQueue(batch: MessageBatch<unknown>, env: Env, hooks: readonly Webhook[], maxAttempts: number): Promise<void> {
  await deliverBatch(batch, { hooks, maxAttempts, deadLetters: env.EVENTS_DLQ });
}
