// End to end: multi-platform indexes (--platform), multi-image archives (--image) and a CLI push in
// chunks smaller than a layer, through the real local server.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWharf, type Wharf } from "./harness";
import { blobPath, buildOciImage, ociImage, run } from "./images";
import { randomDir, wharfCli, wharfOk } from "./wharf-cli";

let wharf: Wharf;
let work: string;
let layout: string;

const tarFile = (tar: string, name: string) => run("tar", ["xOf", tar, name]);
const sha = (b: string | Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** Add a second platform (same layers, arm64 config) and an index over both to the layout, tagged "multi". */
function addIndex(dir: string): void {
  const amd = ociImage(dir, "v1");
  const cfg = JSON.parse(readFileSync(blobPath(dir, amd.config.digest), "utf8"));
  const armCfg = JSON.stringify({ ...cfg, architecture: "arm64", variant: "v8" });
  writeFileSync(blobPath(dir, sha(armCfg)), armCfg);
  const armManifest = JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(armCfg), size: Buffer.byteLength(armCfg) },
    layers: amd.layers,
  });
  writeFileSync(blobPath(dir, sha(armManifest)), armManifest);
  const amdSize = readFileSync(blobPath(dir, amd.manifestDigest)).length;
  const index = JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: amd.manifestDigest, size: amdSize, platform: { os: "linux", architecture: "amd64" } },
      { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha(armManifest), size: Buffer.byteLength(armManifest), platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    ],
  });
  writeFileSync(blobPath(dir, sha(index)), index);
  const top = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  top.manifests.push({ mediaType: "application/vnd.oci.image.index.v1+json", digest: sha(index), size: Buffer.byteLength(index), annotations: { "org.opencontainers.image.ref.name": "multi" } });
  writeFileSync(join(dir, "index.json"), JSON.stringify(top));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "wharf-platforms-"));
  layout = buildOciImage(work, "v1", [randomDir(work, "big", 7 * 1024 * 1024), "/usr/share/doc/skopeo"]);
  addIndex(layout);
  wharf = await startWharf({ UPLOAD_PART_SIZE: String(5 * 1024 * 1024) });
});

afterAll(async () => {
  await wharf?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("platforms and multi-image archives", () => {
  it("asks which image of a layout to push, then pushes a whole index with its digest", async () => {
    const ambiguous = await wharfCli(["push", layout, `${wharf.host}/plat/app:multi`]);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toMatch(/holds 2 images \(v1, multi\): choose one with --image/);

    await wharfOk(["push", "--image", "multi", "--chunk-size", "5MiB", layout, `${wharf.host}/plat/app:multi`]);
    const top = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
    const indexDigest = top.manifests.find((m: { annotations?: Record<string, string> }) => m.annotations?.["org.opencontainers.image.ref.name"] === "multi").digest;
    const info = JSON.parse(await wharfOk(["inspect", "--json", `${wharf.host}/plat/app:multi`]));
    expect(info.digest).toBe(indexDigest);
    expect(info.manifests.map((m: { platform: string }) => m.platform)).toEqual(["linux/amd64", "linux/arm64/v8"]);
  });

  it("pulls the host's platform by default and another with --platform", async () => {
    const amd = join(work, "amd.tar");
    const arm = join(work, "arm.tar");
    await wharfOk(["pull", `${wharf.host}/plat/app:multi`, amd]);
    await wharfOk(["pull", "--platform", "linux/arm64", `${wharf.host}/plat/app:multi`, arm]);
    const archOf = (tar: string) => JSON.parse(tarFile(tar, JSON.parse(tarFile(tar, "manifest.json"))[0].Config)).architecture;
    expect(archOf(amd)).toBe("amd64");
    expect(archOf(arm)).toBe("arm64");
    const none = await wharfCli(["pull", "--platform", "linux/s390x", `${wharf.host}/plat/app:multi`, join(work, "none.tar")]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no image for platform linux\/s390x/);
  });

  it("keeps the whole index in an OCI layout with --platform all", async () => {
    const dir = join(work, "all");
    await wharfOk(["pull", "--format", "oci", "--platform", "all", `${wharf.host}/plat/app:multi`, dir]);
    const top = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
    expect(top.manifests[0].mediaType).toBe("application/vnd.oci.image.index.v1+json");
    const index = JSON.parse(readFileSync(blobPath(dir, top.manifests[0].digest), "utf8"));
    expect(index.manifests.length).toBe(2);
    for (const m of index.manifests) {
      const manifest = JSON.parse(readFileSync(blobPath(dir, m.digest), "utf8"));
      expect(manifest.layers.length).toBe(2);
      for (const l of [manifest.config, ...manifest.layers]) expect(readFileSync(blobPath(dir, l.digest)).length).toBe(l.size);
    }
  });

  it("writes several images into one docker archive and pushes the one chosen with --image", async () => {
    await wharfOk(["push", "--image", "v1", layout, `${wharf.host}/plat/single:v1`]);
    const both = join(work, "both.tar");
    await wharfOk(["pull", `${wharf.host}/plat/single:v1`, `${wharf.host}/plat/app:multi`, both]);
    const entries = JSON.parse(tarFile(both, "manifest.json"));
    expect(entries.map((e: { RepoTags: string[] }) => e.RepoTags[0])).toEqual([`${wharf.host}/plat/single:v1`, `${wharf.host}/plat/app:multi`]);
    // Shared layers are stored once.
    expect(new Set(entries.flatMap((e: { Layers: string[] }) => e.Layers)).size).toBe(2);

    const out = await wharfOk(["push", "--json", "--image", "plat/app:multi", "--chunk-size", "5MiB", both, `${wharf.host}/plat/repushed:x`]);
    const aux = out.trim().split("\n").map((l) => JSON.parse(l)).find((l) => l.aux).aux;
    const pushed = JSON.parse(await wharfOk(["inspect", "--json", `${wharf.host}/plat/repushed:x`]));
    expect(pushed.digest).toBe(aux.Digest);
    expect(pushed.platform).toBe("linux/amd64");
    expect(pushed.layers[0].size).toBeGreaterThan(7 * 1024 * 1024);
  });
});
