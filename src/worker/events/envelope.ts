/**
 * distribution's notification envelope (`application/vnd.docker.distribution.events.v2+json`), so
 * consumers written for distribution (and Harbor, and the many small hook receivers) parse ours as is:
 *
 *     { "events": [ { "id", "timestamp", "action": "push"|"delete"|"pull",
 *                     "target": { "mediaType", "digest", "size", "length", "repository", "url", "tag" },
 *                     "request": { "id", "addr", "host", "method", "useragent" },
 *                     "actor": { "name" }, "source": { "addr" } } ] }
 *
 * As in distribution: `length` repeats `size`; `tag` is present when the request named a tag; a delete
 * by digest has no mediaType or size (the manifest is gone); `actor.name` is the user or token subject,
 * empty for anonymous callers.
 */
import { MediaTypes } from "../../oci/media-types";
import type { EventAction, RegistryEvent } from "./event";

export const EVENTS_MEDIA_TYPE = MediaTypes.dockerEvents;

/** What the request pipeline knows about the request that caused it. */
export interface EventRequest {
  id: string;
  addr: string;
  host: string;
  method: string;
  useragent: string;
  actor: string;
  /** Origin of the registry, for `target.url` and `source.addr`. */
  origin: string;
}

export interface Target {
  mediaType?: string;
  digest?: string;
  size?: number;
  length?: number;
  repository: string;
  url?: string;
  tag?: string;
}

export interface EnvelopeEvent {
  id: string;
  timestamp: string;
  action: EventAction;
  target: Target;
  request: { id: string; addr: string; host: string; method: string; useragent: string };
  actor: { name: string };
  source: { addr: string };
}

export interface Envelope {
  events: EnvelopeEvent[];
}

export function toEnvelopeEvent(e: RegistryEvent, r: EventRequest, now = new Date()): EnvelopeEvent {
  const target: Target = { repository: e.repository };
  if (e.mediaType !== undefined) target.mediaType = e.mediaType;
  target.digest = e.digest;
  if (e.size !== undefined) {
    target.size = e.size;
    target.length = e.size;
  }
  target.url = `${r.origin}/v2/${e.repository}/manifests/${e.digest}`;
  if (e.tag !== undefined) target.tag = e.tag;
  return {
    id: crypto.randomUUID(),
    timestamp: now.toISOString(),
    action: e.action,
    target,
    request: { id: r.id, addr: r.addr, host: r.host, method: r.method, useragent: r.useragent },
    actor: { name: r.actor },
    source: { addr: new URL(r.origin).host },
  };
}

export function envelope(events: EnvelopeEvent[]): Envelope {
  return { events };
}
