// The repository object's tag index (src/worker/repository/tag-index.ts, protocol in its header): the tags
// list and the web UI's tag pages read it; it must agree with R2 after concurrent moves and deletes, be
// rebuilt for repositories pushed before it existed, and stop being trusted when a mutation fails half-way.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { digestOf, parseDigest } from "../../src/oci/grammar";
import { Repositories } from "../../src/worker/repository/client";
import { RepositoryMutations } from "../../src/worker/repository/mutations";
import type { Repository } from "../../src/worker/repository/object";
import { REBUILD_PAGES, TagIndex } from "../../src/worker/repository/tag-index";
import { ManifestStore, type TagDetail } from "../../src/worker/storage/manifests";
import { paths } from "../../src/worker/storage/paths";
import { SummaryStore } from "../../src/worker/storage/summaries";
import { expectError, OCI_INDEX, req } from "./harness";

const enc = new TextEncoder();
const manifest = (note: string) => enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], annotations: { note } }));
const repositories = () => new Repositories(env.REPOSITORIES);
const store = () => new ManifestStore(env.BUCKET);
const stubOf = (name: string) => env.REPOSITORIES.get(env.REPOSITORIES.idFromName(name));

async function put(name: string, tag: string, bytes: Uint8Array): Promise<Response> {
  return req("PUT", `/v2/${name}/manifests/${tag}`, { body: bytes, headers: { "Content-Type": OCI_INDEX } });
}

/** Every tag through the API (the index), following Link pages of `n`. */
async function walk(name: string, n?: number): Promise<string[]> {
  const names: string[] = [];
  let next: string | null = `/v2/${name}/tags/list${n === undefined ? "" : `?n=${n}`}`;
  while (next) {
    const res = await req("GET", next);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { tags: string[] };
    if (n !== undefined) expect(body.tags.length).toBeLessThanOrEqual(n);
    names.push(...body.tags);
    next = res.headers.get("Link")?.match(/<([^>]+)>/)?.[1] ?? null;
  }
  return names;
}

/** What R2 holds: every tag with its details (the listing the index is derived from). */
async function r2Tags(name: string): Promise<TagDetail[]> {
  return (await store().listTagDetails(name, Infinity)).tags;
}

/** The index's state row, read inside the object. */
async function indexState(name: string): Promise<string | null> {
  return runInDurableObject(stubOf(name), async (_o: Repository, state) => {
    const t = state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'tag_meta'").toArray();
    if (!t.length) return null;
    return (state.storage.sql.exec<{ v: string }>("SELECT v FROM tag_meta WHERE k = 'state'").toArray()[0]?.v as string) ?? null;
  });
}

/** A tag object written straight into R2, as a repository pushed before the index existed has them. */
async function legacyTag(name: string, tag: string, digest: string): Promise<void> {
  await env.BUCKET.put(paths.tag(name, tag), "{}", { httpMetadata: { contentType: OCI_INDEX }, customMetadata: { digest, inline: "1", contentSize: "7" } });
}

describe("tag index", () => {
  it("a repository created before the index lists all its tags (rebuilt from R2 on the first list), then from the index", async () => {
    const name = "idx/legacy";
    const m = manifest("legacy");
    const d = (await digestOf(m)).toString();
    // Pushed before the index: R2 only, the object never involved (as main's code before the index).
    await new RepositoryMutations(store(), new SummaryStore(env.BUCKET)).putManifest(name, d, m, OCI_INDEX, "base");
    const tags = Array.from({ length: 1099 }, (_, i) => `t${String(i).padStart(4, "0")}`);
    for (let i = 0; i < tags.length; i += 100) await Promise.all(tags.slice(i, i + 100).map((t) => legacyTag(name, t, d)));
    expect(await indexState(name)).toBeNull();

    const want = ["base", ...tags].sort();
    expect(await walk(name, 1000)).toEqual(want);
    expect(await indexState(name)).toBe("ready");
    expect(await walk(name)).toEqual(want);
    expect(await walk(name, 300)).toEqual(want);

    // Answered by the index: a tag object written around the object is not listed until a rebuild.
    await legacyTag(name, "zz-around", d);
    expect((await walk(name)).includes("zz-around")).toBe(false);
    expect(await repositories().rebuildTagIndex(name)).toBe(true);
    expect(await walk(name)).toEqual([...want, "zz-around"]);

    // Details (the web UI's listing) match R2's metadata.
    const page = await repositories().listTagDetails(name, 5, "t0100");
    expect(page).toEqual({ tags: (await r2Tags(name)).filter((t) => t.tag > "t0100").slice(0, 5), more: true });
  });

  it("concurrent moves and deletes over HTTP leave the index agreeing with R2, names and details", async () => {
    const name = "idx/race";
    const ms = ["a", "b", "c", "d"].map((n) => manifest(`race ${n}`));
    const digests = await Promise.all(ms.map(async (m) => (await digestOf(m)).toString()));
    const tags = ["t0", "t1", "t2", "t3", "t4", "t5"];
    for (const t of tags) expect((await put(name, t, ms[0])).status).toBe(201);
    expect(await walk(name)).toEqual(tags); // the index exists from here on
    for (let round = 0; round < 3; round++) {
      const ops: Promise<Response>[] = [];
      for (let i = 0; i < 12; i++) {
        const tag = tags[(round * 5 + i * 7) % tags.length];
        const kind = (round + i) % 5;
        if (kind === 0) ops.push(req("DELETE", `/v2/${name}/manifests/${tag}`));
        else if (kind === 1 && i % 3 === 0) ops.push(req("DELETE", `/v2/${name}/manifests/${digests[(round + i) % 4]}`));
        else ops.push(put(name, tag, ms[(round + i) % 4]));
        if (i % 4 === 0) ops.push(req("GET", `/v2/${name}/tags/list?n=2`)); // readers beside the writers
      }
      for (const r of await Promise.all(ops)) expect([200, 201, 202, 404]).toContain(r.status);
      const listed = (await repositories().listTagDetails(name, Infinity, undefined, ""))!;
      expect(listed.tags).toEqual(await r2Tags(name));
      expect(await walk(name, 2)).toEqual((await r2Tags(name)).map((t) => t.tag));
      // and each listed tag resolves in R2 to the digest the index says
      for (const t of listed.tags) expect((await store().resolveTag(name, t.tag))?.toString()).toBe(t.digest);
    }
    expect(await indexState(name)).toBe("ready");
  });

  it("empty list semantics: a repository whose tags were all deleted lists none; an unknown one is NAME_UNKNOWN and leaves no index behind", async () => {
    const name = "idx/emptied";
    const m = manifest("emptied");
    expect((await put(name, "only", m)).status).toBe(201);
    expect(await walk(name)).toEqual(["only"]);
    expect((await req("DELETE", `/v2/${name}/manifests/only`)).status).toBe(202);
    const res = await req("GET", `/v2/${name}/tags/list?n=0`);
    expect(await res.json()).toEqual({ name, tags: [] });
    expect(await walk(name)).toEqual([]);
    await expectError(await req("GET", "/v2/idx/nobody/tags/list"), 404, "NAME_UNKNOWN");
    expect(await indexState("idx/nobody")).toBeNull();
  });
});

describe("tag index protocol (inside the object, with its real SQLite storage)", () => {
  /** A bucket whose put of `failKey` fails, as R2 failing mid-mutation. */
  function failingOn(failKey: string): R2Bucket {
    return new Proxy(env.BUCKET, {
      get(target, prop) {
        if (prop === "put") return (key: string, ...rest: unknown[]) => (key === failKey ? Promise.reject(new Error("R2 down")) : (target.put as (...a: unknown[]) => unknown).call(target, key, ...rest));
        const v = Reflect.get(target, prop);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  }

  it("a mutation that fails half-way stops the index being trusted, and the next read rebuilds it to R2's state", async () => {
    const name = "idx/fail";
    const [a, b] = [manifest("fail a"), manifest("fail b")];
    expect((await put(name, "x", a)).status).toBe(201);
    expect((await put(name, "y", a)).status).toBe(201);
    expect(await walk(name)).toEqual(["x", "y"]);
    await runInDurableObject(stubOf(name), async (_o: Repository, state) => {
      const index = new TagIndex(state.storage);
      expect(index.ready).toBe(true);
      // The failure comes after the reverse-index entry's write and before the tag's: what the tag
      // index would learn from the mutation is unknown.
      const broken = new RepositoryMutations(new ManifestStore(failingOn(paths.tag(name, "z"))), new SummaryStore(env.BUCKET), index);
      await expect(broken.putManifest(name, (await digestOf(b)).toString(), b, OCI_INDEX, "z")).rejects.toThrow("R2 down");
      expect(index.ready).toBe(false);
      // A refused mutation (DomainError, before any write) keeps the index trusted.
      const fresh = new TagIndex(state.storage);
      const ok = new RepositoryMutations(store(), new SummaryStore(env.BUCKET), fresh);
      expect(await ok.listTags(name, 10)).toEqual({ json: '["x","y"]', count: 2, last: "y", more: false }); // rebuilt
      expect(fresh.ready).toBe(true);
      await expect(ok.deleteTag(name, "nope")).rejects.toMatchObject({ kind: "MANIFEST_UNKNOWN" });
      expect(fresh.ready).toBe(true);
      expect(new TagIndex(state.storage).ready).toBe(true);
    });
    // Written around the index by a third party meanwhile: R2 is the truth the rebuild copies.
    await legacyTag(name, "w", (await digestOf(a)).toString());
    await runInDurableObject(stubOf(name), async (_o: Repository, state) => {
      const index = new TagIndex(state.storage);
      const broken = new RepositoryMutations(new ManifestStore(failingOn(paths.summary(name))), new SummaryStore(failingOn(paths.summary(name))), index);
      // Fails after its tag writes (the summary's write): the index still takes the tag, and stays trusted.
      await expect(broken.putManifest(name, (await digestOf(b)).toString(), b, OCI_INDEX, "v")).rejects.toThrow("R2 down");
      expect(index.ready).toBe(true);
      expect(index.listNames(10).names).toEqual(["v", "x", "y"]);
    });
    expect(await repositories().rebuildTagIndex(name)).toBe(true);
    expect(await walk(name)).toEqual(["v", "w", "x", "y"]);
  });

  it("an object killed between marking the index and updating it leaves it untrusted for the next instance", async () => {
    const name = "idx/killed";
    expect((await put(name, "k", manifest("killed"))).status).toBe(201);
    expect(await walk(name)).toEqual(["k"]);
    await runInDurableObject(stubOf(name), async (_o: Repository, state) => {
      const index = new TagIndex(state.storage);
      expect(index.ready).toBe(true);
      index.begin(); // step 1 ... and the instance dies before step 3
      expect(new TagIndex(state.storage).ready).toBe(false);
    });
    await env.BUCKET.delete(paths.tag(name, "k")); // what the dead mutation did in R2
    await runInDurableObject(stubOf(name), async (_o: Repository, state) => {
      const next = new TagIndex(state.storage);
      const mutations = new RepositoryMutations(store(), new SummaryStore(env.BUCKET), next);
      expect(await mutations.listTags(name, 10)).toEqual({ json: "[]", count: 0, more: false });
      expect(next.ready).toBe(true);
    });
  });

  it("a rebuild larger than one step answers from R2 until it is done, and mutations between steps are kept", async () => {
    const name = "idx/steps";
    const d = parseDigest("sha256:" + "ab".repeat(32)).toString();
    await runInDurableObject(stubOf(name), async (_o: Repository, state) => {
      const index = new TagIndex(state.storage);
      let calls = 0;
      const pages = REBUILD_PAGES + 2;
      // A fake listing of pages of one tag each (the real one pages by 1,000): more than one step.
      const list = async (_n: number, after?: string) => {
        calls++;
        const i = after === undefined ? 0 : Number(after.slice(1)) + 1;
        return { tags: [{ tag: `p${String(i).padStart(3, "0")}`, digest: d, mediaType: OCI_INDEX, pushedAt: new Date(1000) }], more: i < pages - 1 };
      };
      expect(await index.rebuildStep(list)).toBe(false);
      expect(calls).toBe(REBUILD_PAGES);
      // A mutation between steps: one copied tag is deleted, another moved.
      index.begin();
      index.commit({ removed: ["p000"], written: { tag: "p001", digest: d, mediaType: OCI_INDEX, pushedAt: new Date(2000) } });
      expect(index.ready).toBe(false);
      expect(await index.rebuildStep(list)).toBe(true);
      expect(calls).toBe(pages);
      const names = index.listNames(Infinity).names;
      expect(names.length).toBe(pages - 1);
      expect(names[0]).toBe("p001");
      expect(index.listDetails(1, undefined, "p001").tags[0].pushedAt.getTime()).toBe(2000);
    });
  });
});
