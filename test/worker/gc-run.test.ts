/**
 * Garbage collection runs inside workerd: the coordinator stepped alarm by alarm (50 R2 operations per
 * step here), what it removes and keeps, the dry run, the scheduled handler and the admin endpoint.
 */
import { createExecutionContext, createScheduledController, env, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/worker/index";
import { paths } from "../../src/worker/storage/paths";
import type { GcReport } from "../../src/worker/gc/report";
import { allKeys, blobStored, finishRun, gcStub, link, runGc, snapshot } from "./gc-helpers";
import { pushBlob, pushImage, req } from "./harness";
import { authEnv, basic, call } from "./harness";

describe("a run", () => {
  it("removes the blobs of a deleted manifest and keeps those still referenced", async () => {
    const kept = await pushImage("gc/app", "keep");
    const gone = await pushImage("gc/app", "gone");
    expect((await req("DELETE", `/v2/gc/app/manifests/${gone.digest}`)).status).toBe(202);

    const report = await runGc();
    expect(report.error ?? null).toBeNull();
    expect(report.state).toBe("done");
    expect(await blobStored("gc/app", gone.layer)).toEqual({ index: false, data: false, link: false });
    expect(await blobStored("gc/app", gone.config)).toEqual({ index: false, data: false, link: false });
    expect(await blobStored("gc/app", kept.layer)).toEqual({ index: true, data: true, link: true });
    expect(report.removed.blobs).toBeGreaterThanOrEqual(2);
    expect(report.removed.bytes).toBeGreaterThanOrEqual(1000);
    expect(report.examples.blobs).toContain(gone.layer);
    expect(report.maxStepOperations).toBeLessThanOrEqual(50);
    expect(report.steps).toBeGreaterThan(5);
    expect(Object.keys(report.phases)).toEqual(expect.arrayContaining(["inventory-repositories", "mark", "condemn", "sweep"]));
    expect((await req("GET", `/v2/gc/app/manifests/keep`)).status).toBe(200);
    expect((await req("HEAD", `/v2/gc/app/blobs/${kept.layer}`)).status).toBe(200);
    expect(await env.BUCKET.head(paths.gcActive())).toBeNull(); // the run is over
  });

  it("a dry run reports what it would remove and changes nothing", async () => {
    const gone = await pushImage("gc/dry", "gone");
    await req("DELETE", `/v2/gc/dry/manifests/${gone.digest}`);
    const before = await snapshot();
    const report = await runGc({ dryRun: true });
    expect(report.dryRun).toBe(true);
    expect(report.removed.blobs).toBeGreaterThanOrEqual(2);
    expect(report.examples.blobs).toContain(gone.layer);
    const after = await snapshot();
    expect([...after]).toEqual([...before]);
  });

  it("removes a link its repository's manifests do not use, and keeps the blob other repositories use", async () => {
    const img = await pushImage("gc/links-a", "1");
    expect((await req("POST", `/v2/gc/links-b/blobs/uploads/?mount=${img.layer}&from=gc/links-a`)).status).toBe(201);
    await runGc();
    expect(await link("gc/links-b", img.layer)).toBeNull();
    expect(await blobStored("gc/links-a", img.layer)).toEqual({ index: true, data: true, link: true });
    expect((await req("HEAD", `/v2/gc/links-b/blobs/${img.layer}`)).status).toBe(404);
  });

  it("finishes any registry size in steps of at most GC_STEP_OPERATIONS, resuming from its own storage", async () => {
    for (let i = 0; i < 12; i++) await pushBlob(`gc/many-${i % 3}`, `loose blob ${i} ${crypto.randomUUID()}`);
    const { id } = await gcStub().start();
    // Each alarm is one step; its cursor and candidates are in the coordinator's SQLite, nothing in memory.
    let steps = 0;
    for (let r = (await gcStub().report(id)) as GcReport; r.state === "running"; r = (await gcStub().report(id)) as GcReport) {
      expect(await runDurableObjectAlarm(gcStub())).toBe(true);
      steps++;
    }
    const report = (await gcStub().report(id)) as GcReport;
    expect(report.steps).toBe(steps);
    expect(report.maxStepOperations).toBeLessThanOrEqual(50);
    expect(report.removed.blobs).toBeGreaterThanOrEqual(12);
    expect(await allKeys("repositories/gc/many-")).toEqual([]);
  });
});

describe("triggers", () => {
  it("the scheduled handler starts a run (cron), and a second trigger while it runs joins it", async () => {
    const ctx = createExecutionContext();
    const scheduled = worker.scheduled as (c: ScheduledController, e: typeof env, x: ExecutionContext) => Promise<void>;
    await scheduled(createScheduledController({ cron: "17 3 * * *", scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    const { active } = await gcStub().status();
    expect(active?.trigger).toBe("cron 17 3 * * *");
    const again = await gcStub().start();
    expect(again).toEqual({ id: active!.id, started: false });
    const report = await finishRun(active!.id);
    expect(report.state).toBe("done");
    expect((await gcStub().status()).runs[0].id).toBe(active!.id);
  });

  it("POST /_wharf/gc starts a run, GET shows it and the last runs", async () => {
    const start = await req("POST", "/_wharf/gc?dry-run=true");
    expect(start.status).toBe(202);
    const { id, started, location } = (await start.json()) as { id: string; started: boolean; location: string };
    expect(started).toBe(true);
    expect(location).toBe(`/_wharf/gc/${id}`);
    const running = (await (await req("GET", location)).json()) as GcReport;
    expect(running).toMatchObject({ id, state: "running", dryRun: true });
    await finishRun(id);
    const done = (await (await req("GET", location)).json()) as GcReport;
    expect(done.state).toBe("done");
    const status = (await (await req("GET", "/_wharf/gc")).json()) as { active: null; runs: GcReport[] };
    expect(status.active).toBeNull();
    expect(status.runs[0].id).toBe(id);
    expect((await req("GET", "/_wharf/gc/no-such-run")).status).toBe(404);
    const bad = await req("POST", "/_wharf/gc?dry-run=maybe");
    expect(bad.status).toBe(400);
    expect((await gcStub().status()).active).toBeNull(); // refused before anything started
  });

  it("the admin endpoint needs the gc action", async () => {
    const e = await authEnv();
    const anonymous = await call(e, "POST", "/_wharf/gc");
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("WWW-Authenticate")).toContain('scope="registry:gc:*"');
    expect((await call(e, "GET", "/_wharf/gc", { auth: basic("alice", "alice-pw") })).status).toBe(403);
    const admin = await authEnv({
      AUTH_CONFIG: JSON.stringify({ users: JSON.parse((await authEnv()).AUTH_CONFIG!).users, rules: [{ users: ["admin"], actions: ["gc"] }] }),
    });
    const ok = await call(admin, "GET", "/_wharf/gc", { auth: basic("admin", "admin-pw") });
    expect(ok.status).toBe(200);
  });
});

