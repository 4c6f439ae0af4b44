/**
 * Garbage collection end to end against `npm start`: images pushed with skopeo, tags and manifests
 * deleted, `wharf gc` run, the deleted images' bytes gone from the R2 simulator's folder on disk, and
 * every image still referenced pulled back byte-identical; then a bounded stress test of pushes while GC
 * runs again and again with no grace period.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { GcReport } from "../../src/worker/gc/report";
import { startWharf, type Wharf } from "./harness";
import { type BuiltImage, digestsOnDisk, randomLayer, verifyLayout, writeLayout } from "./gc-images";
import { run } from "./images";
import { wharfCli, wharfOk } from "./wharf-cli";

let wharf: Wharf;
let work: string;

const skopeo = (...args: string[]) => run("skopeo", ["--insecure-policy", ...args]);

/** skopeo copy as a child process (the stress test runs pushes and GC at the same time). */
function skopeoAsync(args: string[]): Promise<{ code: number; err: string }> {
  return new Promise((res) => {
    const p = spawn("skopeo", ["--insecure-policy", ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code) => res({ code: code ?? 1, err }));
  });
}

function r2Folder(): string {
  const find = (d: string): string | null => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      if (e.name === "r2") return join(d, e.name);
      const f = find(join(d, e.name));
      if (f) return f;
    }
    return null;
  };
  const dir = find(wharf.dataDir);
  if (!dir) throw new Error(`no r2 folder under ${wharf.dataDir}`);
  return dir;
}

function push(img: BuiltImage, ref: string): void {
  skopeo("copy", "--dest-tls-verify=false", `oci:${img.layout}:${img.tag}`, `docker://${wharf.host}/${ref}`);
}

/** Pull `ref` with skopeo into a fresh layout and check it is `img`, byte for byte. */
function pullsIdentical(img: BuiltImage, ref: string): void {
  const out = mkdtempSync(join(work, "pull-"));
  skopeo("copy", "--src-tls-verify=false", `docker://${wharf.host}/${ref}`, `oci:${out}:${img.tag}`);
  const pulled = verifyLayout(out, img.tag);
  expect(pulled.manifestDigest).toBe(img.manifestDigest);
  expect(pulled.blobs).toEqual(img.blobs);
  rmSync(out, { recursive: true, force: true });
}

async function api(method: string, path: string): Promise<Response> {
  return fetch(`${wharf.url}${path}`, { method });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "wharf-gc-"));
  // No grace: what is unreferenced when a run starts may go. Condemned content waits 5 s for a push to
  // revive it (a skopeo push here takes well under that between its blob uploads and its manifest).
  wharf = await startWharf({ GC_GRACE_SECONDS: "0", GC_CONDEMN_SECONDS: "5" });
});

// A failure (a run that never finishes above all) shows what GC and the server said.
afterEach(async ({ task }) => {
  if (task.result?.state !== "fail" || !wharf) return;
  const status = await api("GET", "/_wharf/gc").then((r) => r.text(), (e) => String(e));
  console.error(`GC status at the failure: ${status}\nserver log (tail):\n${wharf.log().slice(-8000)}`);
});

afterAll(async () => {
  await wharf?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("wharf gc", () => {
  it("removes what deleted tags and manifests left, from disk too, and every referenced image pulls byte-identical", async () => {
    const base = randomLayer(work, 200_000); // shared by every image
    const img = (name: string) => writeLayout(join(work, name), "1", [base, randomLayer(work, 300_000)]);
    const keep = img("keep");
    const deleted = img("deleted");
    const untagged = img("untagged");
    const mounted = img("mounted");
    push(keep, "gc/keep:1");
    push(deleted, "gc/deleted:1");
    push(untagged, "gc/untagged:1");
    push(mounted, "gc/source:1");
    push(mounted, "gc/copy:1"); // the same image in a second repository (skopeo mounts or uploads)

    // A manifest deleted by digest (its tags go with it); a tag deleted (its manifest stays, untagged);
    // an image deleted from one of the two repositories holding it.
    expect((await api("DELETE", `/v2/gc/deleted/manifests/${deleted.manifestDigest}`)).status).toBe(202);
    expect((await api("DELETE", "/v2/gc/untagged/manifests/1")).status).toBe(202);
    expect((await api("DELETE", `/v2/gc/source/manifests/${mounted.manifestDigest}`)).status).toBe(202);

    const onDiskBefore = digestsOnDisk(r2Folder());
    const own = deleted.blobs.filter((b) => !keep.blobs.includes(b));
    for (const b of [...keep.blobs, ...own]) expect(onDiskBefore.has(b), b).toBe(true);

    const dry = JSON.parse(await wharfOk(["gc", wharf.host, "--dry-run", "--json"])) as GcReport;
    expect(dry).toMatchObject({ state: "done", dryRun: true });
    expect(dry.removed.blobs).toBe(own.length);
    expect(digestsOnDisk(r2Folder())).toEqual(onDiskBefore);

    const report = JSON.parse(await wharfOk(["gc", wharf.host, "--json"])) as GcReport;
    expect(report).toMatchObject({ state: "done", dryRun: false });
    expect(report.removed.blobs).toBe(own.length);
    expect(report.removed.bytes).toBeGreaterThan(300_000);
    expect(report.maxStepOperations).toBeLessThanOrEqual(1000);

    const onDisk = digestsOnDisk(r2Folder());
    for (const b of own) expect(onDisk.has(b), `${b} still on disk`).toBe(false);
    for (const b of [...keep.blobs, ...untagged.blobs, ...mounted.blobs]) expect(onDisk.has(b), `${b} gone`).toBe(true);

    pullsIdentical(keep, "gc/keep:1");
    pullsIdentical(mounted, "gc/copy:1");
    pullsIdentical(untagged, `gc/untagged@${untagged.manifestDigest}`);
    const gone = await api("GET", `/v2/gc/source/blobs/${mounted.layers[1]}`);
    expect(gone.status).toBe(404); // the link of the repository that no longer uses it went

    const status = await wharfOk(["gc", "--status", wharf.host]);
    expect(status).toContain(report.id);
    expect(status).toContain(dry.id);
    const human = await wharfCli(["gc", wharf.host]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/removed: 0 blobs/);
  });

  it("stress: pushes while GC runs again and again (grace 0); afterwards every pushed image pulls and verifies", async () => {
    const base = randomLayer(work, 100_000);
    const images = Array.from({ length: 10 }, (_, i) => writeLayout(join(work, `stress-${i}`), "1", [base, randomLayer(work, 150_000), randomLayer(work, 50_000)]));
    let pushing = true;
    const runs: GcReport[] = [];
    const collector = (async () => {
      while (pushing) {
        const start = await api("POST", "/_wharf/gc");
        const { id } = (await start.json()) as { id: string };
        for (;;) {
          const r = (await (await api("GET", `/_wharf/gc/${id}`)).json()) as GcReport;
          if (r.state !== "running") {
            runs.push(r);
            break;
          }
          await new Promise((res) => setTimeout(res, 200));
        }
      }
    })();
    const failures: string[] = [];
    // Two pushers; each image deleted again two pushes later unless it is one of the even ones, so runs
    // find real garbage while pushes go on.
    const pusher = async (lane: number) => {
      for (let i = lane; i < images.length; i += 2) {
        const r = await skopeoAsync(["copy", "--dest-tls-verify=false", `oci:${images[i].layout}:1`, `docker://${wharf.host}/stress/img-${i}:1`]);
        if (r.code !== 0) failures.push(`push ${i}: ${r.err}`);
        const old = i - 4;
        if (old >= 0 && old % 2 === 1) await api("DELETE", `/v2/stress/img-${old}/manifests/${images[old].manifestDigest}`);
      }
    };
    await Promise.all([pusher(0), pusher(1)]);
    pushing = false;
    await collector;
    // One more run with nothing pushing, then check everything that should be there.
    const final = JSON.parse(await wharfOk(["gc", wharf.host, "--json"])) as GcReport;
    runs.push(final);
    expect(failures).toEqual([]);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.every((r) => r.state === "done")).toBe(true);
    const deletedImages = images.filter((_, i) => i % 2 === 1 && i + 4 < images.length);
    const keptImages = images.filter((img) => !deletedImages.includes(img));
    for (const img of keptImages) pullsIdentical(img, `stress/img-${images.indexOf(img)}:1`);
    const onDisk = digestsOnDisk(r2Folder());
    for (const img of deletedImages) for (const b of img.layers.slice(1)) expect(onDisk.has(b), `${b} of a deleted image still on disk`).toBe(false);
    expect(runs.reduce((n, r) => n + r.removed.blobs, 0)).toBeGreaterThan(0);
    console.log(`stress: ${runs.length} GC runs beside ${images.length} pushes; revived ${runs.reduce((n, r) => n + r.revived, 0)}; most R2 operations in one step ${Math.max(...runs.map((r) => r.maxStepOperations))}`);
  });
});

