/** Helpers for events tests: the loopback receiver (vitest.config.ts), queue messages and signature checks. */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import worker from "../../src/worker/index";
import type { Env } from "../../src/worker/config";
import type { DeliveryMessage } from "../../src/worker/events/sink";
import type { EnvelopeEvent } from "../../src/worker/events/envelope";
import { toHex } from "../../src/oci/encoding";

export const RECEIVER = env.TEST_RECEIVER!;
export const SECRET = "test-webhook-secret-0123456789";

export interface Received {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export async function received(path: string): Promise<Received[]> {
  const res = await fetch(`${RECEIVER}/_received?path=${encodeURIComponent(path)}`);
  return (await res.json()) as Received[];
}

/** Poll the receiver until `n` requests reached `path` (deliveries through the real queue are asynchronous). */
export async function waitForDeliveries(path: string, n: number, timeoutMs = 20_000): Promise<Received[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await received(path);
    if (got.length >= n || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function hmacHex(secret: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toHex(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body)));
}

/** A message as createMessageBatch takes it. */
export interface TestMessage<B = unknown> {
  id: string;
  timestamp: Date;
  body: B;
  attempts: number;
}

let seq = 0;
export function event(repository: string, over: Partial<EnvelopeEvent> = {}): EnvelopeEvent {
  seq++;
  return {
    id: `ev-${seq}`,
    timestamp: new Date().toISOString(),
    action: "push",
    target: { repository, digest: `sha256:${"a".repeat(63)}${seq % 10}`, mediaType: "application/vnd.oci.image.manifest.v1+json", size: 10, length: 10 },
    request: { id: `req-${seq}`, addr: "192.0.2.1", host: "registry.test", method: "PUT", useragent: "test" },
    actor: { name: "alice" },
    source: { addr: "registry.test" },
    ...over,
  };
}

export function message(url: string, ev: EnvelopeEvent, attempts = 1): TestMessage<DeliveryMessage> {
  return { id: `msg-${ev.id}`, timestamp: new Date(), attempts, body: { v: 1, url, event: ev } };
}

export function hooks(...list: { url: string; repositories?: string[]; actions?: string[] }[]): string {
  return JSON.stringify(list.map((h) => ({ secret: SECRET, ...h })));
}

/** Run the Worker's queue handler on real MessageBatch objects; returns what it acked and retried. */
export async function consume(messages: TestMessage[], overrides: Partial<Env>) {
  const batch = createMessageBatch("wharf-events", messages as never);
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...(env as unknown as Env), ...overrides });
  return getQueueResult(batch, ctx);
}
