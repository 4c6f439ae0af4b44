/** Helpers for garbage collection tests: the coordinator stepped alarm by alarm, and R2 peeks. */
import { env, runDurableObjectAlarm, SELF } from "cloudflare:test";
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

/** Push a manifest naming the given config and layers (already in the repository); returns its digest. */
export async function putImageManifest(repo: string, ref: string | undefined, config: string, layers: { digest: string; size: number }[], extra: Record<string, unknown> = {}): Promise<{ status: number; digest: string; body: string }> {
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: (await blobSize(repo, config)) ?? 0 },
    layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...l })),
    ...extra,
  });
  const digest = await sha(body);
  const res = await SELF.fetch(`http://registry.test/v2/${repo}/manifests/${ref ?? digest}`, {
    method: "PUT",
    body,
    headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
  });
  await res.arrayBuffer();
  return { status: res.status, digest, body };
}

async function blobSize(repo: string, digest: string): Promise<number | null> {
  const res = await SELF.fetch(`http://registry.test/v2/${repo}/blobs/${digest}`, { method: "HEAD" });
  return res.status === 200 ? Number(res.headers.get("Content-Length")) : null;
}

async function sha(s: string): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
  return `sha256:${[...h].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export async function condemnedState(digest: string): Promise<"live" | "condemned" | "tombstone" | "absent"> {
  const idx = await indexEntry(digest);
  if (!idx) return "absent";
  if (idx.customMetadata?.tombstone) return "tombstone";
  return idx.customMetadata?.condemned ? "condemned" : "live";
}
