/**
 * Registry events and webhooks: what happened to which manifest, raised by the handlers through
 * `c.events` on the request context, delivered to the WEBHOOKS endpoints that want it. Owns:
 * distribution's notification envelope (envelope.ts), the WEBHOOKS setting and its filters
 * (webhooks.ts), the producer that puts one queue message per interested endpoint on the EVENTS queue
 * without slowing the request (sink.ts), the consumer that POSTs signed batches, retries with backoff and
 * dead-letters what keeps failing (deliver.ts, queue.ts), and the signature (signature.ts).
 *
 *     handler ── c.events.emit(event) ──► sink: filter by WEBHOOKS ──► EVENTS queue (waitUntil)
 *     queue() handler ◄── batches ── EVENTS queue
 *        └─ per endpoint: POST envelope + Wharf-Signature ── 2xx: ack │ else retry(backoff) │ at the last attempt: EVENTS_DLQ
 *
 * `noEvents` drops everything (no WEBHOOKS, or no queue binding).
 */

export { type EventAction, type EventSink, noEvents, type RegistryEvent } from "./event";

export { deliverBatch, type DeadLetter } from "./deliver";
export { EVENTS_MEDIA_TYPE, type EventRequest } from "./envelope";
export { handleQueue } from "./queue";
export { SIGNATURE_HEADER, signBody } from "./signature";
export { type DeliveryMessage, eventSink } from "./sink";
export { parseWebhooks, type Webhook } from "./webhooks";
