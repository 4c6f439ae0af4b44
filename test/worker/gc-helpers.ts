/** Helpers for garbage collection tests: the coordinator stepped alarm by alarm, and R2 peeks. */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import type { GcCoordinator } from "../../src/worker/gc/coordinator";
import type { GcReport } from "../../src/worker/gc/report";
import { parseDigest } from "../../src/oci/grammar";
import { paths } from "../../src/worker/storage/paths";

export function gcStub(): DurableObjectStub<GcCoordinator> {
  return env.GC.get(env.GC.idFromName("gc"));
}

export async function activePhase(): Promise<string | null> {
  return (await gcStub().status()).active?.phase ?? null;
}

/** Run alarms one at a time until the run's next phase is `phase` (it has not run yet). */
export async function stepUntil(phase: string, limit = 500): Promise<void> {
  for (let i = 0; i < limit; i++) {
    const p = await activePhase();
    if (p === phase) return;
    if (p === null) throw new Error(`run finished before phase ${phase}`);
    expect(await runDurableObjectAlarm(gcStub())).toBe(true);
  }
  throw new Error(`phase ${phase} not reached`);
}

/** Step the active run to its end; returns its report. */
export async function finishRun(id: string, limit = 2000): Promise<GcReport> {
  const stub = gcStub();
  for (let i = 0; i < limit; i++) {
    const r = (await stub.report(id)) as GcReport;
    if (r.state !== "running") return r;
    expect(await runDurableObjectAlarm(stub)).toBe(true);
  }
  throw new Error("run did not finish");
}

/** A whole run, stepped alarm by alarm. */
export async function runGc(opts: { dryRun?: boolean } = {}): Promise<GcReport> {
  const { id, started } = await gcStub().start(opts);
  expect(started).toBe(true);
  return finishRun(id);
}

export const indexEntry = (digest: string) => env.BUCKET.head(paths.blobIndex(parseDigest(digest)));
export const link = (repo: string, digest: string) => env.BUCKET.head(paths.layerLink(repo, parseDigest(digest)));

/** Does the blob still exist in full: index entry, its data object, and the repository's link? */
export async function blobStored(repo: string, digest: string): Promise<{ index: boolean; data: boolean; link: boolean }> {
  const idx = await indexEntry(digest);
  const data = idx?.customMetadata?.data ? await env.BUCKET.head(idx.customMetadata.data) : null;
  return { index: !!idx && !idx.customMetadata?.tombstone, data: !!data, link: !!(await link(repo, digest)) };
}

export async function allKeys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const res = await env.BUCKET.list({ prefix, cursor });
    out.push(...res.objects.map((o) => o.key));
    cursor = res.truncated ? res.cursor : undefined;
  } while (cursor);
  return out;
}

/** Every object of the bucket, key → etag: a dry run must leave this unchanged. */
export async function snapshot(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor: string | undefined;
  do {
    const res = await env.BUCKET.list({ cursor });
    for (const o of res.objects) out.set(o.key, o.etag);
    cursor = res.truncated ? res.cursor : undefined;
  } while (cursor);
  return out;
}
