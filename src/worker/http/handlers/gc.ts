/**
 * The garbage collection admin endpoint (action "gc" in the auth rules):
 *   POST /_wharf/gc[?dry-run=true]   start a run (or get the one running): 202 {id, started, location}
 *   GET  /_wharf/gc                  {active, runs}: the run in progress and the last reports
 *   GET  /_wharf/gc/<id>             one run's report (running or finished)
 */
import { RegistryError } from "../../errors";
import { gcCoordinator } from "../../gc/stub";
import type { Handler } from "../context";

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", "Cache-Control": "no-store" } });

const RUN_ID = /^[0-9A-Za-z-]{1,64}$/;

export const startGc: Handler = async (c) => {
  const flag = c.url.searchParams.get("dry-run") ?? c.url.searchParams.get("dryRun");
  if (flag !== null && !["", "true", "false", "1", "0"].includes(flag)) {
    throw new RegistryError("UNSUPPORTED_PARAMETER", `dry-run must be true or false, not ${JSON.stringify(flag)}`);
  }
  const dryRun = flag === "" || flag === "true" || flag === "1";
  const { id, started } = await gcCoordinator(c.env).start({ dryRun, trigger: "admin" });
  return json({ id, started, location: `/_wharf/gc/${id}` }, 202);
};

export const gcStatus: Handler = async (c) => json(await gcCoordinator(c.env).status());

export const gcRun: Handler = async (c) => {
  const id = c.params.id;
  const report = RUN_ID.test(id) ? await gcCoordinator(c.env).report(id) : null;
  if (!report) throw new RegistryError("GC_RUN_UNKNOWN", `no garbage collection run ${id} (the last 20 are kept)`);
  return json(report);
};
