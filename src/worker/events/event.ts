/** What a registry event is and what raises it (the seam handlers use; see index.ts). */

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
