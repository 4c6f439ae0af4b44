/**
 * The consumer side: a batch from the events queue is grouped by endpoint and each group POSTed as one
 * envelope (envelope.ts) with `Content-Type: application/vnd.docker.distribution.events.v2+json` and
 * `Wharf-Signature: sha256=<hex HMAC-SHA256 of the body with the endpoint's secret>` (signature.ts).
 *
 * - 2xx: the group's messages are acknowledged.
 * - anything else (another status, a redirect, a network error, no answer in DELIVERY_TIMEOUT_MS): one
 *   log line, and each message is retried after backoff(attempts): 30 s, 60 s, 2 min ... capped at
 *   BACKOFF_CAP_SECONDS. A message that has had WEBHOOK_MAX_ATTEMPTS attempts is sent to the dead-letter
 *   queue (EVENTS_DLQ) with the last error and acknowledged, with a log line saying so.
 * - an endpoint no longer in WEBHOOKS: its messages are dropped (acknowledged) with a log line.
 * Every POST is also one `{"job":"webhook", ...}` log line, successful or not. URLs are logged without
 * their query string, where receivers sometimes keep a token.
 *
 * Throwing from here would make Queues retry the whole batch (and, past the consumer's max_retries in
 * wrangler.toml, dead-letter it), which is the safety net for bugs, not the normal path.
 */
import { envelope, EVENTS_MEDIA_TYPE } from "./envelope";
import { SIGNATURE_HEADER, signBody } from "./signature";
import type { DeliveryMessage } from "./sink";
import type { Webhook } from "./webhooks";
import { type Metrics, noMetrics } from "../metrics";
import { METRICS } from "../metrics/names";

export const DELIVERY_TIMEOUT_MS = 10_000;
export const BACKOFF_BASE_SECONDS = 30;
export const BACKOFF_CAP_SECONDS = 3600;

/** Seconds before attempt `attempts + 1`, after `attempts` failed ones. */
export function backoff(attempts: number): number {
  return Math.min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** Math.max(0, attempts - 1));
}

/** What goes to the dead-letter queue: the undelivered message and why. */
export interface DeadLetter extends DeliveryMessage {
  attempts: number;
  error: string;
  failedAt: string;
}

export interface DeliveryOptions {
  hooks: readonly Webhook[];
  maxAttempts: number;
  deadLetters: Queue<DeadLetter> | undefined;
  /** webhook_deliveries, by outcome (kind). */
  metrics?: Metrics;
}

export async function deliverBatch(batch: MessageBatch<unknown>, o: DeliveryOptions): Promise<void> {
  const groups = new Map<string, Message<DeliveryMessage>[]>();
  for (const m of batch.messages) {
    if (!isDeliveryMessage(m.body)) {
      log({ job: "webhook", outcome: "malformed-message", messageId: m.id });
      m.ack();
      continue;
    }
    const g = groups.get(m.body.url) ?? [];
    g.push(m as Message<DeliveryMessage>);
    groups.set(m.body.url, g);
  }
  await Promise.all([...groups].map(([url, messages]) => deliverGroup(url, messages, o)));
}

async function deliverGroup(url: string, messages: Message<DeliveryMessage>[], o: DeliveryOptions): Promise<void> {
  const hook = o.hooks.find((h) => h.url === url);
  const where = redact(url);
  const count = (kind: string, n: number) => (o.metrics ?? noMetrics).count(METRICS.webhook_deliveries, n, { kind });
  if (!hook) {
    count("dropped", messages.length);
    log({ job: "webhook", url: where, events: messages.length, outcome: "dropped", error: "endpoint is no longer in WEBHOOKS" });
    for (const m of messages) m.ack();
    return;
  }
  const body = JSON.stringify(envelope(messages.map((m) => m.body.event)));
  const started = Date.now();
  let error: string | null = null;
  let status = 0;
  try {
    const res = await fetch(url, {
      method: "POST",
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      headers: {
        "Content-Type": EVENTS_MEDIA_TYPE,
        [SIGNATURE_HEADER]: await signBody(hook.secret, body),
        "User-Agent": "wharf-webhooks",
      },
    });
    status = res.status;
    await res.body?.cancel();
    if (status < 200 || status > 299) error = `HTTP ${status}`;
  } catch (e) {
    error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }
  const ms = Date.now() - started;
  const attempt = Math.max(...messages.map((m) => m.attempts));
  if (!error) {
    log({ job: "webhook", url: where, events: messages.length, status, ms, attempt, outcome: "delivered" });
    count("delivered", messages.length);
    for (const m of messages) m.ack();
    return;
  }
  const give = messages.filter((m) => m.attempts >= o.maxAttempts);
  const again = messages.filter((m) => m.attempts < o.maxAttempts);
  for (const m of again) m.retry({ delaySeconds: backoff(m.attempts) });
  if (again.length) {
    count("retry", again.length);
    log({ job: "webhook", url: where, events: again.length, status, ms, attempt, outcome: "retry", retryInSeconds: backoff(Math.min(...again.map((m) => m.attempts))), error });
  }
  if (give.length) {
    count("dead-lettered", give.length);
    await deadLetter(where, give, error, status, ms, o);
  }
}

async function deadLetter(where: string, messages: Message<DeliveryMessage>[], error: string, status: number, ms: number, o: DeliveryOptions) {
  const failedAt = new Date().toISOString();
  const letters = messages.map((m) => ({ body: { ...m.body, attempts: m.attempts, error, failedAt } satisfies DeadLetter, contentType: "json" as const }));
  try {
    if (!o.deadLetters) throw new Error("no EVENTS_DLQ queue binding");
    await o.deadLetters.sendBatch(letters);
  } catch (e) {
    // Not kept anywhere: retry rather than lose the events silently.
    log({ job: "webhook", url: where, events: messages.length, status, ms, outcome: "dead-letter-failed", error: `${error}; dead-letter queue: ${String(e)}` });
    for (const m of messages) m.retry({ delaySeconds: BACKOFF_CAP_SECONDS });
    return;
  }
  log({ job: "webhook", url: where, events: messages.length, status, ms, attempt: Math.max(...messages.map((m) => m.attempts)), outcome: "dead-lettered", error, ids: messages.map((m) => m.body.event.id) });
  for (const m of messages) m.ack();
}

function isDeliveryMessage(b: unknown): b is DeliveryMessage {
  const m = b as DeliveryMessage;
  return !!m && typeof m === "object" && m.v === 1 && typeof m.url === "string" && !!m.event && typeof m.event === "object";
}

function redact(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

function log(fields: Record<string, unknown>): void {
  const line = JSON.stringify(fields);
  if (fields.outcome === "delivered") console.log(line);
  else console.error(line);
}
