// Immutable tags (IMMUTABLE_TAGS locked/*: v*, vitest.config.ts) pushed for the first time by two clients
// at once. Both find the tag absent in the Worker's early check; the first write of the tag is create-only
// (ManifestStore.put with `{ immutable: true }`, a conditional put), so exactly one push wins and the other
// gets 409 DENIED (TAG_IMMUTABLE), whichever order the repository object and R2 see them in.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type Digest, parseDigest } from "../../src/oci/grammar";
import { parseManifest } from "../../src/oci/manifest";
import { DomainError } from "../../src/worker/domain-errors";
import { ManifestStore } from "../../src/worker/storage/manifests";
import { paths } from "../../src/worker/storage/paths";
import { OCI_INDEX, req, sha256 } from "./harness";

const enc = new TextEncoder();
const manifest = (note: string) => enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], annotations: { note } }));
const digestOf = async (bytes: Uint8Array): Promise<Digest> => parseDigest(await sha256(bytes));

/** The real bucket, with the first `put` of `key` parked until released (and a signal when it gets there). */
function holdPut(key: string) {
  let reached!: () => void;
  let release!: () => void;
  const atGate = new Promise<void>((r) => (reached = r));
  const opened = new Promise<void>((r) => (release = r));
  let armed = true;
  const bucket = new Proxy(env.BUCKET, {
    get(target, prop) {
      const v = Reflect.get(target, prop);
      if (typeof v !== "function") return v;
      return async (...args: unknown[]) => {
        if (armed && prop === "put" && args[0] === key) {
          armed = false;
          reached();
          await opened;
        }
        return (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  return { bucket, atGate, release };
}

async function tagTarget(name: string, tag: string): Promise<string | undefined> {
  return (await env.BUCKET.head(paths.tag(name, tag)))?.customMetadata?.digest;
}

describe("immutable tag, first push raced", () => {
  it("storage: of two writers that both saw the tag absent, the create-only write lets exactly one win", async () => {
    const name = "locked/race-store";
    const a = manifest("a");
    const b = manifest("b");
    const [da, db] = [await digestOf(a), await digestOf(b)];
    const gate = holdPut(paths.tag(name, "v1"));
    // Writer A reads (absent) and is parked just before it writes the tag; writer B then does all of it.
    const storeA = new ManifestStore(gate.bucket);
    const first = storeA.put(name, da, a, parseManifest(a, OCI_INDEX), "v1", { immutable: true }).then(
      () => "ok",
      (e) => e,
    );
    await gate.atGate;
    await new ManifestStore(env.BUCKET).put(name, db, b, parseManifest(b, OCI_INDEX), "v1", { immutable: true });
    gate.release();
    const outcome = await first;
    expect(outcome).toBeInstanceOf(DomainError);
    expect((outcome as DomainError).kind).toBe("TAG_IMMUTABLE");
    expect(await tagTarget(name, "v1")).toBe(db.toString());
    // The loser's reverse-index entry went with its attempt; the winner's stays.
    expect(await env.BUCKET.head(paths.tagged(name, da, "v1"))).toBeNull();
    expect(await env.BUCKET.head(paths.tagged(name, db, "v1"))).not.toBeNull();
    // Without the immutable flag the same interleaving overwrites (the ordinary last-writer-wins move).
    const c = manifest("c");
    await new ManifestStore(env.BUCKET).put(name, await digestOf(c), c, parseManifest(c, OCI_INDEX), "v1");
    expect(await tagTarget(name, "v1")).toBe((await digestOf(c)).toString());
  });

  it("storage: a writer parked before the create finds the tag already pointing at its own digest: fine", async () => {
    const name = "locked/race-same";
    const a = manifest("same");
    const da = await digestOf(a);
    const gate = holdPut(paths.tag(name, "v1"));
    const first = new ManifestStore(gate.bucket).put(name, da, a, parseManifest(a, OCI_INDEX), "v1", { immutable: true });
    await gate.atGate;
    await new ManifestStore(env.BUCKET).put(name, da, a, parseManifest(a, OCI_INDEX), "v1", { immutable: true });
    gate.release();
    await first;
    expect(await tagTarget(name, "v1")).toBe(da.toString());
    expect(await env.BUCKET.head(paths.tagged(name, da, "v1"))).not.toBeNull();
  });

  it("HTTP: concurrent first pushes of different manifests to one immutable tag: one 201, the rest 409 DENIED", async () => {
    for (let round = 0; round < 3; round++) {
      const name = `locked/race-http-${round}`;
      const bodies = Array.from({ length: 4 }, (_, i) => new TextDecoder().decode(manifest(`${round}-${i}`)));
      const results = await Promise.all(
        bodies.map((body) => req("PUT", `/v2/${name}/manifests/v1`, { body, headers: { "Content-Type": OCI_INDEX } })),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(bodies.length - 1);
      for (const r of results) {
        if (r.status === 409) expect(((await r.json()) as { errors: { code: string }[] }).errors[0].code).toBe("DENIED");
        else await r.arrayBuffer();
      }
      const winner = bodies[statuses.indexOf(201)];
      const got = await req("GET", `/v2/${name}/manifests/v1`, { headers: { Accept: OCI_INDEX } });
      expect(got.headers.get("Docker-Content-Digest")).toBe(await sha256(enc.encode(winner)));
      expect(await got.text()).toBe(winner);
    }
  });
});
