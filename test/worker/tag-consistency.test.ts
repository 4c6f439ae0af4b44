// Tag moves and manifest deletes under concurrency (issue 10, defect 4; protocol in
// src/worker/repository/mutations.ts). A gate over the real R2 binding holds one chosen R2 call until the
// test releases it, which forces the interleaving that lost a tag's reverse-index entry: PUT a, then PUT b
// whose clean-up of a's entry is held, then PUT a again, then b's clean-up. Plus a bounded stress test.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type Digest, parseDigest } from "../../src/oci/grammar";
import { parseManifest } from "../../src/oci/manifest";
import type { Env } from "../../src/worker/config";
import worker from "../../src/worker/index";
import { RepositoryMutations } from "../../src/worker/repository/mutations";
import { ManifestStore } from "../../src/worker/storage/manifests";
import { SummaryStore } from "../../src/worker/storage/summaries";
import { paths } from "../../src/worker/storage/paths";
import { BASE, OCI_INDEX, req, sha256 } from "./harness";

const enc = new TextEncoder();
const manifest = (note: string) => enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], annotations: { note } }));

/** The real R2 binding; `hold(method, key)` parks the first matching call until `release()`. */
function gatedBucket() {
  const calls: string[] = [];
  let gate: { method: string; key: string; reached: () => void; opened: Promise<void> } | null = null;
  const bucket = new Proxy(env.BUCKET, {
    get(target, prop) {
      const v = Reflect.get(target, prop);
      if (typeof v !== "function") return v;
      return async (...args: unknown[]) => {
        const keys = Array.isArray(args[0]) ? (args[0] as string[]) : [String(args[0])];
        calls.push(`${String(prop)} ${keys.join(",")}`);
        const g = gate;
        if (g && prop === g.method && keys.includes(g.key)) {
          gate = null;
          g.reached();
          await g.opened;
        }
        return (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  return {
    bucket,
    calls,
    hold(method: string, key: string) {
      let reached!: () => void;
      let release!: () => void;
      const atGate = new Promise<void>((r) => (reached = r));
      const opened = new Promise<void>((r) => (release = r));
      gate = { method, key, reached, opened };
      return { atGate, release };
    },
  };
}

async function digestOf(bytes: Uint8Array): Promise<Digest> {
  return parseDigest(await sha256(bytes));
}

/** The invariant of the protocol: the tag's reverse-index entry exists for the digest it points at. */
async function entryOf(name: string, tag: string): Promise<{ target: string | undefined; entry: boolean }> {
  const obj = await env.BUCKET.head(paths.tag(name, tag));
  const target = obj?.customMetadata?.digest;
  const entry = target ? (await env.BUCKET.head(paths.tagged(name, parseDigest(target), tag))) !== null : false;
  return { target, entry };
}

/** Yield to the runtime long enough for any runnable mutation to reach R2. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await env.BUCKET.head("settle/nothing");
}

describe("the interleaving that lost a tag's reverse-index entry", () => {
  it("unguarded store: the late clean-up deletes the winner's entry, and DELETE then leaves the tag (the hazard)", async () => {
    const name = "race/bare";
    const [a, b] = [manifest("a"), manifest("b")];
    const [da, db] = [await digestOf(a), await digestOf(b)];
    const g = gatedBucket();
    const store = new ManifestStore(g.bucket);
    await store.put(name, da, a, parseManifest(a, OCI_INDEX), "t");
    const held = g.hold("delete", paths.tagged(name, da, "t"));
    const putB = store.put(name, db, b, parseManifest(b, OCI_INDEX), "t");
    await held.atGate; // b moved the tag and is about to remove a's entry
    await store.put(name, da, a, parseManifest(a, OCI_INDEX), "t"); // a again: tag -> a, entry (a, t) re-written
    held.release();
    await putB;
    expect(await entryOf(name, "t")).toEqual({ target: da.toString(), entry: false });
    await store.deleteManifest(name, da);
    expect(await store.resolveTag(name, "t")).not.toBeNull(); // the tag outlived its manifest
  });

  it("through the repository's queue the same schedule keeps the entry, and DELETE removes the tag", async () => {
    const name = "race/queued";
    const [a, b] = [manifest("a"), manifest("b")];
    const [da, db] = [await digestOf(a), await digestOf(b)];
    const g = gatedBucket();
    const store = new ManifestStore(g.bucket);
    const repo = new RepositoryMutations(store, new SummaryStore(g.bucket));
    await repo.putManifest(name, da.toString(), a, OCI_INDEX, "t");
    const held = g.hold("delete", paths.tagged(name, da, "t"));
    const putB = repo.putManifest(name, db.toString(), b, OCI_INDEX, "t");
    await held.atGate;
    const before = g.calls.length;
    const putA = repo.putManifest(name, da.toString(), a, OCI_INDEX, "t");
    await settle();
    expect(g.calls.slice(before)).toEqual([]); // a's PUT waits for b's to finish: nothing of it reached R2
    held.release();
    await Promise.all([putB, putA]);
    expect(await entryOf(name, "t")).toEqual({ target: da.toString(), entry: true });
    await repo.deleteManifest(name, da.toString());
    expect(await store.resolveTag(name, "t")).toBeNull();
    expect(await store.stat(name, da)).toBeNull();
    expect(await store.resolveTag(name, "t")).toBeNull();
  });

  it("a failed mutation does not stop the queue", async () => {
    const repo = new RepositoryMutations(new ManifestStore(env.BUCKET), new SummaryStore(env.BUCKET));
    await expect(repo.deleteTag("race/fail", "nope")).rejects.toMatchObject({ kind: "MANIFEST_UNKNOWN" });
    const a = manifest("after failure");
    await repo.putManifest("race/fail", (await digestOf(a)).toString(), a, OCI_INDEX, "t");
    expect(await entryOf("race/fail", "t")).toMatchObject({ entry: true });
  });

  it("over HTTP: PUT a, PUT b (its clean-up held), PUT a, DELETE a: the tag is gone", async () => {
    const name = "race/http";
    const g = gatedBucket();
    const e = { ...(env as unknown as Env), BUCKET: g.bucket } as Env;
    const call = async (method: string, path: string, body?: Uint8Array) => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request(BASE + path, { method, body, headers: body ? { "Content-Type": OCI_INDEX } : {} }), e, ctx);
      await waitOnExecutionContext(ctx);
      return res;
    };
    const [a, b] = [manifest("http a"), manifest("http b")];
    const da = await digestOf(a);
    expect((await call("PUT", `/v2/${name}/manifests/t`, a)).status).toBe(201);
    const held = g.hold("delete", paths.tagged(name, da, "t"));
    const putB = call("PUT", `/v2/${name}/manifests/t`, b);
    // Where mutations run in the repository's object (with its own binding), the gate is never reached.
    await Promise.race([held.atGate, putB]);
    const putA = call("PUT", `/v2/${name}/manifests/t`, a);
    await Promise.race([putA, settle()]);
    held.release();
    expect((await putB).status).toBe(201);
    expect((await putA).status).toBe(201);
    const final = (await req("HEAD", `/v2/${name}/manifests/t`)).headers.get("Docker-Content-Digest");
    expect((await req("DELETE", `/v2/${name}/manifests/${final}`)).status).toBe(202);
    expect((await req("HEAD", `/v2/${name}/manifests/t`)).status).toBe(404);
  });
});

describe("concurrent stress (bounded)", () => {
  it("rounds of 4 concurrent PUTs to one tag (one manifest twice) and a concurrent tag DELETE keep every tag consistent", async () => {
    const name = "race/stress";
    for (let round = 0; round < 6; round++) {
      const tag = `t${round % 2}`;
      const [a, b, c] = ["a", "b", "c"].map((n) => manifest(`${round} ${n}`));
      const puts = [a, b, a, c].map((m) => req("PUT", `/v2/${name}/manifests/${tag}`, { body: m, headers: { "Content-Type": OCI_INDEX } }));
      const other = req("DELETE", `/v2/${name}/manifests/t${(round + 1) % 2}`);
      expect((await Promise.all(puts)).map((r) => r.status)).toEqual([201, 201, 201, 201]);
      expect([202, 404]).toContain((await other).status);
      const state = await entryOf(name, tag);
      expect(state.entry).toBe(true);
      const final = (await req("HEAD", `/v2/${name}/manifests/${tag}`)).headers.get("Docker-Content-Digest");
      expect(final).toBe(state.target);
      expect((await req("DELETE", `/v2/${name}/manifests/${final}`)).status).toBe(202);
      expect((await req("GET", `/v2/${name}/manifests/${tag}`)).status).toBe(404);
      expect((await req("GET", `/v2/${name}/manifests/${final}`)).status).toBe(404);
      expect((await req("DELETE", `/v2/${name}/manifests/${final}`)).status).toBe(404);
    }
  });

  it("a PUT racing a DELETE of the same digest ends with both the tag and its manifest, or neither", async () => {
    const name = "race/putdel";
    for (let round = 0; round < 6; round++) {
      const m = manifest(`pd ${round}`);
      const d = await sha256(m);
      expect((await req("PUT", `/v2/${name}/manifests/${d}`, { body: m, headers: { "Content-Type": OCI_INDEX } })).status).toBe(201);
      const [put, del] = await Promise.all([
        req("PUT", `/v2/${name}/manifests/p${round}`, { body: m, headers: { "Content-Type": OCI_INDEX } }),
        req("DELETE", `/v2/${name}/manifests/${d}`),
      ]);
      expect(put.status).toBe(201);
      expect(del.status).toBe(202);
      const tag = await req("GET", `/v2/${name}/manifests/p${round}`);
      const rev = await req("GET", `/v2/${name}/manifests/${d}`);
      expect([200, 404]).toContain(tag.status);
      expect(rev.status).toBe(tag.status);
    }
  });
});
