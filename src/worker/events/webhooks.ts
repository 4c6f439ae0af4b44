/**
 * The WEBHOOKS setting (a secret): which endpoints hear which events.
 *
 *     [{ "url": "https://ci.example.com/hook", "secret": "…", "repositories": ["team/*"], "actions": ["push"] }]
 *
 * - `url`: http or https; each endpoint at most once (it is the endpoint's identity in the queue).
 * - `secret`: HMAC-SHA256 key of the `Wharf-Signature` header, 16+ characters.
 * - `repositories`: names or patterns as in AUTH_CONFIG (`*` matches any characters including `/`);
 *   absent: every repository.
 * - `actions`: any of "push", "delete", "pull"; absent: push and delete. Pull is opt-in because it
 *   turns every manifest GET into a queue message.
 */
import { isValidPattern, matches } from "../auth/grants";

import type { EventAction } from "./event";

export const EVENT_ACTIONS: readonly EventAction[] = ["push", "delete", "pull"];
const DEFAULT_ACTIONS: readonly EventAction[] = ["push", "delete"];
const MIN_SECRET = 16;

export interface Webhook {
  url: string;
  secret: string;
  /** Empty: every repository. */
  repositories: readonly string[];
  actions: ReadonlySet<EventAction>;
}

/** Validator of the WEBHOOKS setting (src/worker/settings.ts); throws saying what it expects. */
export function parseWebhooks(value: unknown): Webhook[] {
  if (value === undefined || value === null || value === "") return [];
  if (!Array.isArray(value)) throw new Error('a JSON list of {"url", "secret", "repositories"?, "actions"?}');
  const seen = new Set<string>();
  return value.map((raw, i) => {
    const where = `entry ${i}:`;
    if (!raw || typeof raw !== "object") throw new Error(`${where} must be an object with url and secret`);
    const w = raw as Record<string, unknown>;
    for (const k of Object.keys(w)) {
      if (!["url", "secret", "repositories", "actions"].includes(k)) throw new Error(`${where} unknown field ${k}`);
    }
    let url: URL;
    try {
      url = new URL(String(w.url));
    } catch {
      throw new Error(`${where} url must be an absolute http(s) URL`);
    }
    if (typeof w.url !== "string" || (url.protocol !== "https:" && url.protocol !== "http:")) {
      throw new Error(`${where} url must be an absolute http(s) URL`);
    }
    if (seen.has(w.url)) throw new Error(`${where} url ${w.url} is listed twice`);
    seen.add(w.url);
    if (typeof w.secret !== "string" || w.secret.length < MIN_SECRET) {
      throw new Error(`${where} secret must be a string of ${MIN_SECRET}+ characters (openssl rand -hex 32)`);
    }
    const repositories = list(w.repositories, `${where} repositories`);
    for (const p of repositories) if (!isValidPattern(p)) throw new Error(`${where} repositories: invalid pattern ${p}`);
    const actions = w.actions === undefined ? [...DEFAULT_ACTIONS] : list(w.actions, `${where} actions`);
    for (const a of actions) {
      if (!(EVENT_ACTIONS as readonly string[]).includes(a)) throw new Error(`${where} actions: unknown action ${a} (push, delete, pull)`);
    }
    if (!actions.length) throw new Error(`${where} actions is empty: leave it out for push and delete`);
    return { url: w.url, secret: w.secret, repositories, actions: new Set(actions as EventAction[]) };
  });
}

function list(v: unknown, what: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new Error(`${what} must be a list of strings`);
  return v as string[];
}

/** Does this endpoint want this event? */
export function wants(hook: Webhook, action: EventAction, repository: string): boolean {
  if (!hook.actions.has(action)) return false;
  return !hook.repositories.length || hook.repositories.some((p) => matches(p, repository));
}

