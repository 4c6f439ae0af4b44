/** The Worker's side of garbage collection: the one coordinator, for the admin endpoint and the cron trigger. */
import type { Env } from "../config";
import type { GcCoordinator } from "./coordinator";

export function gcCoordinator(env: Env): DurableObjectStub<GcCoordinator> {
  return env.GC.get(env.GC.idFromName("gc"));
}

/** The cron trigger: start a run unless one is going. */
export async function scheduledGc(env: Env, cron: string): Promise<{ id: string; started: boolean }> {
  return gcCoordinator(env).start({ trigger: `cron ${cron}` });
}
