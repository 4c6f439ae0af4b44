/**
 * Garbage collection runs end to end inside workerd: the coordinator stepped alarm by alarm, what it
 * removes and keeps, the dry run, the scheduled handler, the admin endpoint.
 */
import { createScheduledController, createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/worker/index";
import { blobStored, finishRun, gcSettings, gcStub, runGc, snapshot } from "./gc-helpers";
import { pushBlob, pushImage, req } from "./helpers";


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
    expect(report.maxStepOperations).toBeLessThanOrEqual(50);
    expect(report.steps).toBeGreaterThan(5);
    expect((await req("GET", `/v2/gc/app/manifests/keep`)).status).toBe(200);
    expect((await req("HEAD", `/v2/gc/app/blobs/${kept.layer}`)).status).toBe(200);
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
});
