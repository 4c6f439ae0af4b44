/**
 * `wharf gc <host> [--dry-run] [--json]`: start a garbage collection run through the admin endpoint
 * (POST /_wharf/gc; the caller needs the `gc` action), wait for it, and print its report.
 * `wharf gc --status <host>`: the run in progress and the last runs.
 * A run that is already going is joined rather than started twice.
 */
import type { GcReport } from "../../client/gc-report";
import type { RegistryClient } from "../../client/registry";
import { humanSize } from "./progress";

const SCOPES = ["registry:gc:*"];
const POLL_MS = 1000;

export interface GcOptions {
  dryRun: boolean;
  status: boolean;
  json: boolean;
  out: (s: string) => void;
  /** Progress lines while waiting (stderr). */
  err: (s: string) => void;
}

async function getJson<T>(client: RegistryClient, url: string): Promise<T> {
  const res = await client.transport.expect({ method: "GET", url, scopes: SCOPES, idempotent: true, headers: { Accept: "application/json" } }, [200], "gc");
  return (await res.json()) as T;
}

export async function gcCommand(client: RegistryClient, o: GcOptions): Promise<number> {
  if (o.status) {
    const status = await getJson<{ active: GcReport | null; runs: GcReport[] }>(client, "/_wharf/gc");
    if (o.json) {
      o.out(`${JSON.stringify(status)}\n`);
      return 0;
    }
    if (status.active) o.out(`running: ${status.active.id} (${status.active.trigger}${status.active.dryRun ? ", dry run" : ""}), phase ${status.active.phase}\n`);
    if (!status.runs.length) o.out("no finished runs\n");
    for (const r of status.runs) o.out(`${oneLine(r)}\n`);
    return 0;
  }
  const res = await client.transport.expect(
    { method: "POST", url: `/_wharf/gc${o.dryRun ? "?dry-run=true" : ""}`, scopes: SCOPES, idempotent: false },
    [202],
    "gc",
  );
  const { id, started } = (await res.json()) as { id: string; started: boolean };
  if (!started) o.err(`wharf: a run is already going (${id}); waiting for it\n`);
  let phase = "";
  for (;;) {
    const r = await getJson<GcReport>(client, `/_wharf/gc/${id}`);
    if (r.state !== "running") {
      o.out(o.json ? `${JSON.stringify(r)}\n` : describe(r));
      return r.state === "done" ? 0 : 1;
    }
    if (!o.json && r.phase !== phase) o.err(`${r.phase}\n`);
    phase = r.phase;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function counts(r: GcReport): string {
  const c = r.removed;
  return `${c.blobs} blobs, ${c.manifests} manifests, ${c.tags} tags, ${c.links} links, ${c.dataObjects} data objects (${humanSize(c.bytes)})`;
}

function oneLine(r: GcReport): string {
  return `${r.id}  ${r.state}${r.dryRun ? " (dry run)" : ""}  ${r.trigger}  ${r.startedAt}  ${r.dryRun ? "would remove" : "removed"} ${counts(r)}`;
}

function describe(r: GcReport): string {
  const ms = Object.values(r.phases).reduce((a, b) => a + b, 0);
  const lines = [
    `gc ${r.dryRun ? "dry run" : "run"} ${r.id}: ${r.state} in ${(ms / 1000).toFixed(1)} s`,
    `${r.dryRun ? "would remove" : "removed"}: ${counts(r)}`,
    `seen: ${r.inventory.repositories} repositories, ${r.inventory.manifests} manifests, ${r.inventory.tags} tags, ${r.inventory.blobs} blobs, ${r.inventory.links} links, ${r.inventory.dataObjects} data objects`,
    `revived by pushes during the run: ${r.revived}`,
    `R2 operations: ${r.r2Operations} in ${r.steps} steps (most in one step: ${r.maxStepOperations})`,
    `phases: ${Object.entries(r.phases).map(([p, t]) => `${p} ${t} ms`).join(", ")}`,
  ];
  for (const t of r.examples.tags) lines.push(`  tag ${t}`);
  for (const m of r.examples.manifests) lines.push(`  manifest ${m}`);
  for (const b of r.examples.blobs) lines.push(`  blob ${b}`);
  if (r.error) lines.push(`error: ${r.error}`);
  return `${lines.join("\n")}\n`;
}
