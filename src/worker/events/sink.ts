/**
 * The producer side: `QueueEventSink.emit` turns a registry event into one queue message per endpoint
 * that wants it (WEBHOOKS filters by action and repository here, so the consumer never sees an event
 * nobody asked for) and sends them with one `sendBatch`, in `waitUntil`: the push has been answered
 * before the queue is written, and a queue that is down costs a log line, never a failed push.
 *
 * One message per (event, endpoint) rather than per event, so that retrying a failed endpoint never
 * re-delivers to one that already accepted the event. The message carries the endpoint's URL, not its
 * secret: the consumer looks the secret up in the current WEBHOOKS, so a rotated secret signs the next
 * attempt and secrets never sit in a queue.
 */
import { type EnvelopeEvent, type EventRequest, toEnvelopeEvent } from "./envelope";
import { type EventSink, noEvents } from "./event";
import { type Webhook, wants } from "./webhooks";

/** Body of a message on the events queue. */
export interface DeliveryMessage {
  v: 1;
  url: string;
  event: EnvelopeEvent;
}

let warnedMissing = false;

export function eventSink(
  queue: Queue<DeliveryMessage> | undefined,
  hooks: readonly Webhook[],
  request: EventRequest,
  waitUntil: (p: Promise<unknown>) => void,
): EventSink {
  if (!hooks.length) return noEvents;
  if (!queue) {
    if (!warnedMissing) console.error("wharf: WEBHOOKS is set but the EVENTS queue binding is missing (wrangler.toml [[queues.producers]]): no events are sent");
    warnedMissing = true;
    return noEvents;
  }
  return {
    emit(e) {
      const targets = hooks.filter((h) => wants(h, e.action, e.repository));
      if (!targets.length) return;
      const event = toEnvelopeEvent(e, request);
      const messages = targets.map((h) => ({ body: { v: 1, url: h.url, event } satisfies DeliveryMessage, contentType: "json" as const }));
      waitUntil(
        queue.sendBatch(messages).catch((err) => {
          console.error(JSON.stringify({ job: "event-enqueue", requestId: request.id, action: e.action, repository: e.repository, error: String(err) }));
        }),
      );
    },
  };
}
