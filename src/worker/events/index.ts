/**
 * Registry events: what happened to which manifest, raised by the handlers through `c.events` on the
 * request context. This module is the seam: `noEvents` drops them. The delivery (distribution's
 * notification envelope through a Cloudflare Queue to webhooks) plugs in by giving the request context
 * another `EventSink`; handlers do not change.
 */

export type EventAction = "push" | "delete" | "pull";

export interface RegistryEvent {
  action: EventAction;
  repository: string;
  /** The manifest's digest. */
  digest: string;
  mediaType?: string;
  size?: number;
  tag?: string;
}

export interface EventSink {
  /** Never waits and never throws: delivery is the sink's business, after the response. */
  emit(event: RegistryEvent): void;
}

export const noEvents: EventSink = { emit() {} };
