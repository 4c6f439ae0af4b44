/**
 * The mark's cutoffs and the sweep of orphaned data, on crafted inventory rows (R2 objects cannot be
 * backdated, so age is tested here, in a coordinator object of its own, against the real SQLite and R2).
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Budget } from "../../src/worker/gc/budget";
import { GcDb } from "../../src/worker/gc/db";
import { mark } from "../../src/worker/gc/mark";
import { sweepSome } from "../../src/worker/gc/sweep";

const H = (c: string) => `sha256:${c.repeat(64)}`;
const HOUR = 3600_000;

function scratch() {
  return env.GC.get(env.GC.idFromName(`mark-test-${crypto.randomUUID()}`));
}

describe("mark", () => {
  it("spares what is younger than the grace period, and blobs a young link points at", async () => {
    const now = Date.now();
    const cand = await runInDurableObject(scratch(), async (_o, state) => {
      const db = new GcDb(state.storage.sql);
      const blob = (d: string, uploaded: number, data: string) =>
        db.run("INSERT INTO b (digest, uploaded, etag, size, data, state) VALUES (?, ?, 'e', 10, ?, 'live')", d, uploaded, data);
      blob(H("a"), now - 2 * HOUR, "data/a"); // old, unreferenced: collected
      blob(H("b"), now - 10_000, "data/b"); // young: its manifest may be on its way
      blob(H("c"), now - 2 * HOUR, "data/c"); // old, but a link to it is young (pushed again, mounted)
      blob(H("d"), now - 2 * HOUR, "data/d"); // old, referenced by a manifest
      db.run("INSERT INTO l (repo, digest, uploaded, etag, state) VALUES ('r', ?, ?, 'e', 'live')", H("c"), now - 1000);
      db.run("INSERT INTO l (repo, digest, uploaded, etag, state) VALUES ('r', ?, ?, 'e', 'live')", H("d"), now - 2 * HOUR);
      db.run("INSERT INTO l (repo, digest, uploaded, etag, state) VALUES ('other', ?, ?, 'e', 'live')", H("d"), now - 2 * HOUR);
      db.run("INSERT INTO m (repo, digest, uploaded, children) VALUES ('r', ?, ?, '')", H("9"), now - 2 * HOUR);
      db.run("INSERT INTO mb (repo, manifest, blob) VALUES ('r', ?, ?)", H("9"), H("d"));
      db.run("INSERT INTO d (key, uploaded, size) VALUES ('data/a', ?, 10), ('data/orphan-old', ?, 5), ('data/orphan-young', ?, 5)", now - 3 * HOUR, now - 3 * HOUR, now - HOUR);
      mark(db, { grace: now - HOUR, orphan: now - 2 * HOUR });
      return {
        blobs: db.all<{ digest: string }>("SELECT digest FROM b WHERE cand = 1").map((r) => r.digest),
        links: db.all<{ repo: string; digest: string }>("SELECT repo, digest FROM l WHERE cand = 1"),
        data: db.all<{ key: string }>("SELECT key FROM d WHERE cand = 1").map((r) => r.key),
      };
    });
    expect(cand.blobs).toEqual([H("a")]);
    // d stays (r's manifest uses it), but "other" has no manifest using it: a stray link.
    expect(cand.links).toEqual([{ repo: "other", digest: H("d") }]);
    // data/a belongs to an index entry (it goes with its blob); the young orphan waits.
    expect(cand.data).toEqual(["data/orphan-old"]);
  });

  it("the sweep deletes orphaned data objects, in batches within the step budget", async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `data/orphan-sweep-${i}-${crypto.randomUUID()}`);
    for (const k of keys) await env.BUCKET.put(k, "x");
    const result = await runInDurableObject(scratch(), async (_o, state) => {
      const db = new GcDb(state.storage.sql);
      for (const k of keys) db.run("INSERT INTO d (key, uploaded, size, cand) VALUES (?, 0, 1, 1)", k);
      const budget = new Budget(env.BUCKET, 50);
      let removed = 0;
      const done = await sweepSome(budget, db, "test", { blob: () => undefined, links: () => undefined, data: () => removed++, revived: () => undefined });
      return { done, removed, used: budget.used };
    });
    expect(result).toEqual({ done: true, removed: 30, used: 1 }); // one delete call for all 30
    for (const k of keys) expect(await env.BUCKET.head(k)).toBeNull();
  });
});
