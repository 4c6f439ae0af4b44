/**
 * The Worker's `queue` handler. It consumes only the EVENTS queue (wrangler.toml), so every batch is
 * deliveries (deliver.ts). Broken settings are one log line naming the setting, and the batch waits
 * for a fixed deployment (retried, then dead-lettered by Queues past the consumer's max_retries).
 */
import type { Env } from "../config";
import { readSettings, SettingsError } from "../settings";
import { metricsFor } from "../metrics";
import { deliverBatch } from "./deliver";

export async function handleQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  let settings;
  try {
    settings = readSettings(env);
  } catch (e) {
    if (!(e instanceof SettingsError)) throw e;
    console.error(JSON.stringify({ level: "error", job: "webhook", queue: batch.queue, message: `registry misconfigured: ${e.message}` }));
    batch.retryAll({ delaySeconds: 300 });
    return;
  }
  await deliverBatch(batch, {
    hooks: settings.WEBHOOKS,
    maxAttempts: settings.WEBHOOK_MAX_ATTEMPTS,
    deadLetters: env.EVENTS_DLQ,
    metrics: metricsFor(env.METRICS),
  });
}
