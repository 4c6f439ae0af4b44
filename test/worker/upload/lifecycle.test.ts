/**
 * Upload session lifecycle against the real R2 and Durable Object simulators: the abandonment alarm,
 * two uploads of the same content racing to commit, R2's create-if-absent put, and a failing part upload.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { cut, dataKeys, expectError, finish, indexedDataKey, noise, openSession, PART, patch, patchAll, rangeOf, req, sessionRange, sessionStub, sha256, storedDigest } from "../harness";

interface StoredSession {
  dataKey: string;
  uploadId?: string;
  tailLength: number;
}

function sessionState(loc: string): Promise<StoredSession | undefined> {
  return runInDurableObject(sessionStub(loc), (_s, state) => state.storage.get<StoredSession>("state"));
}

describe("abandoned sessions", () => {
  it("the alarm aborts the multipart upload and erases the session and its tail", async () => {
    const loc = await openSession("big/abandoned");
    await patchAll(loc, [noise(PART + 3 * 1024 * 1024)]);
    const st = await sessionState(loc);
    expect(st?.uploadId).toBeTruthy();
    expect(st?.tailLength).toBe(3 * 1024 * 1024);
    const stub = sessionStub(loc);
    expect(await runInDurableObject(stub, async (_s, state) => (await state.storage.list()).size)).toBeGreaterThan(1);

    // An alarm that fires before the deadline (a call pushed it meanwhile) keeps the session.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await sessionRange(loc)).toBe(rangeOf(PART + 3 * 1024 * 1024));
    // Let the session's deadline pass (TTL is an hour in these tests): last touched two hours ago.
    await runInDurableObject(stub, async (_s, state) => {
      const old = await state.storage.get<StoredSession & { touchedAt: number }>("state");
      await state.storage.put("state", { ...old, touchedAt: Date.now() - 2 * 3600 * 1000 });
      await state.storage.setAlarm(Date.now() + 60_000);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);

    await expectError(await req("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN");
    await expectError(await patch(loc, noise(10), PART + 3 * 1024 * 1024), 404, "BLOB_UPLOAD_UNKNOWN");
    expect(await runInDurableObject(stub, async (_s, state) => (await state.storage.list()).size)).toBe(0);
    // The multipart upload is gone: R2 refuses more parts for it.
    const mp = env.BUCKET.resumeMultipartUpload(st!.dataKey, st!.uploadId!);
    await expect(mp.uploadPart(2, noise(PART))).rejects.toThrow();
    expect(await env.BUCKET.head(st!.dataKey)).toBeNull();
  });

  it("a session still in use is not cleaned up: every call pushes the deadline", async () => {
    const loc = await openSession("big/alive");
    await patchAll(loc, [noise(1000)]);
    const alarmAt = await runInDurableObject(sessionStub(loc), (_s, state) => state.storage.getAlarm());
    expect(alarmAt).toBeGreaterThan(Date.now() + 3000 * 1000);
  });
});

describe("the final PUT's erasure", () => {
  it("a session whose erasure was lost after its PUT (saved as closing) answers 404, and its alarm keeps the committed bytes", async () => {
    for (const [name, body, headers] of [
      ["whole", noise(2 * 1024 * 1024 + 9), {}],
      ["parts", noise(PART + 1234), { "Content-Range": `0-${PART + 1233}` }],
    ] as const) {
      const loc = await openSession(`closing/${name}`);
      expect((await req("PATCH", loc, { body, headers })).status).toBe(202);
      const stub = sessionStub(loc);
      // What the state held just before the commit wrote the index, as if the erasure never ran.
      const before = await sessionState(loc);
      const digest = await sha256(body);
      expect((await finish(loc, digest)).status).toBe(201);
      await runInDurableObject(stub, async (_s, state) => {
        await state.storage.put("state", { ...before, whole: false, closing: true, touchedAt: Date.now() - 2 * 3600 * 1000 });
        await state.storage.setAlarm(Date.now() + 60_000);
      });
      await expectError(await req("GET", loc), 404, "BLOB_UPLOAD_UNKNOWN");
      await expectError(await patch(loc, noise(10), body.length), 404, "BLOB_UPLOAD_UNKNOWN");
      await expectError(await finish(loc, digest), 404, "BLOB_UPLOAD_UNKNOWN");
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      expect(await runInDurableObject(stub, async (_s, state) => (await state.storage.list()).size)).toBe(0);
      expect(await storedDigest(digest)).toBe(digest);
      expect((await req("HEAD", `/v2/closing/${name}/blobs/${digest}`)).status).toBe(200);
    }
  });

  it("after a successful PUT every call answers 404 and the session's storage is erased", async () => {
    const loc = await openSession("closing/erased");
    const body = noise(3000);
    expect((await req("PATCH", loc, { body })).status).toBe(202);
    expect((await finish(loc, await sha256(body))).status).toBe(201);
    await expectError(await patch(loc, noise(10), 3000), 404, "BLOB_UPLOAD_UNKNOWN");
    const stub = sessionStub(loc);
    expect(await runInDurableObject(stub, async (_s, state) => (await state.storage.list()).size)).toBe(0);
    expect(await runInDurableObject(stub, (_s, state) => state.storage.getAlarm())).toBeNull();
  });
});

describe("R2 conditional put (the content index's create-if-absent)", () => {
  it("onlyIf etagDoesNotMatch '*' writes only when the key is absent", async () => {
    const first = await env.BUCKET.put("probe/cond", "one", { onlyIf: { etagDoesNotMatch: "*" } });
    expect(first).not.toBeNull();
    const second = await env.BUCKET.put("probe/cond", "two", { onlyIf: { etagDoesNotMatch: "*" } });
    expect(second).toBeNull();
    expect(await (await env.BUCKET.get("probe/cond"))!.text()).toBe("one");
  });
});

describe("two clients upload the same blob to two repositories at once", () => {
  it("both succeed and one copy is kept", async () => {
    const data = noise(2 * PART + 4242);
    const digest = await sha256(data);
    const before = (await dataKeys()).length;
    const [a, b] = await Promise.all([openSession("race/a"), openSession("race/b")]);
    const chunks = cut(data, [PART + 1, 3, PART]);
    await Promise.all([patchAll(a, chunks), patchAll(b, chunks)]);
    const [ra, rb] = await Promise.all([finish(a, digest), finish(b, digest)]);
    expect(ra.status, await ra.clone().text()).toBe(201);
    expect(rb.status, await rb.clone().text()).toBe(201);
    for (const repo of ["race/a", "race/b"]) {
      expect((await req("HEAD", `/v2/${repo}/blobs/${digest}`)).status).toBe(200);
    }
    const keys = await dataKeys();
    expect(keys.length).toBe(before + 1);
    expect(keys).toContain(await indexedDataKey(digest));
    expect(await storedDigest(digest)).toBe(digest);
  });
});

describe("a part upload fails mid-chunk", () => {
  it("the session rests at the end of the last stored part and says so", async () => {
    const data = noise(3 * PART + 10);
    const loc = await openSession("big/partfail");
    await patchAll(loc, [data.subarray(0, PART + 10)]);
    const st = await sessionState(loc);
    expect(st?.uploadId).toBeTruthy();
    // Pull the multipart upload out from under the session: every further part upload fails.
    await env.BUCKET.resumeMultipartUpload(st!.dataKey, st!.uploadId!).abort();
    const res = await patch(loc, data.subarray(PART + 10), PART + 10);
    expect(res.status).toBe(503);
    expect(res.headers.get("Range")).toBe(rangeOf(PART));
    expect(await sessionRange(loc)).toBe(rangeOf(PART));
    const after = await sessionState(loc);
    expect(after?.tailLength).toBe(0);
  });
});
