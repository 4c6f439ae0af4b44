/**
 * Who may do what. Every route declares the action it needs (router.ts); `authorize` is called once per
 * request before the handler runs, and `mayPull` answers for cross-repository mounts.
 *
 * Until authentication lands (issue: "Authentication and access control"), this registry is open:
 * every caller may do everything. Do not expose it beyond localhost in this state.
 */
import type { Action } from "./context";

export interface Caller {
  /** May the caller do `action` on `repo`? */
  may(action: Action, repo: string): Promise<boolean>;
}

export async function identify(_request: Request): Promise<Caller> {
  return { may: async () => true };
}

export async function authorize(caller: Caller, action: Action, repo: string): Promise<void> {
  if (action === "none") return;
  await caller.may(action, repo);
}
