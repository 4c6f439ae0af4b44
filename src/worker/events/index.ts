/**
 * Registry events and webhooks. Owns: distribution's notification envelope (envelope.ts), the WEBHOOKS
 * setting and its filters (webhooks.ts), the producer that puts one queue message per interested
 * endpoint on the EVENTS queue without slowing the request (sink.ts), the consumer that POSTs signed
 * batches, retries with backoff and dead-letters what keeps failing (deliver.ts), and the signature
 * (signature.ts). The flow:
 *
 *     handler ── c.events.emit(event) ──► sink: filter by WEBHOOKS ──► EVENTS queue (waitUntil)
 *     queue() handler ◄── batches ── EVENTS queue
 *        └─ per endpoint: POST envelope + Wharf-Signature ── 2xx ack │ else retry(backoff) │ dead-letter → EVENTS_DLQ
 */
export { deliverBatch, type DeadLetter } from "./deliver";
export { EVENTS_MEDIA_TYPE, type EventRequest, type RegistryEvent } from "./envelope";
export { SIGNATURE_HEADER, signBody } from "./signature";
export { type DeliveryMessage, eventSink, type EventSink, NO_EVENTS } from "./sink";
export { parseWebhooks, type Webhook } from "./webhooks";
