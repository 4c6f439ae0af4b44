// End to end: images written by skopeo pushed with `wharf` and pulled with skopeo, and the reverse,
// against the real local server. Layers are compared by content (diff_ids) and configs byte for byte.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { indexTar } from "../../src/node/archive/tar";
import { startDistribution } from "./distribution";
import { startWharf, type Wharf } from "./harness";
import { blobPath, buildOciImage, ociImage, run, sha256File } from "./images";
import { layerDiffIds, randomDir, wharfCli, wharfOk } from "./wharf-cli";

let wharf: Wharf;
let work: string;
let layout: string;

const skopeo = (...args: string[]) => run("skopeo", ["--insecure-policy", ...args]);
const tarFile = (tar: string, name: string) => run("tar", ["xOf", tar, name]);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "wharf-cli-"));
  layout = buildOciImage(work, "v1", [randomDir(work, "a", 1_500_000), "/usr/share/doc/skopeo"]);
  wharf = await startWharf();
});

afterAll(async () => {
  await wharf?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("wharf push, skopeo pull", () => {
  it("pushes a skopeo docker-archive: layers gzip-compressed on the way, diff_ids and config unchanged", async () => {
    const archive = join(work, "skopeo-docker.tar");
    skopeo("copy", `oci:${layout}:v1`, `docker-archive:${archive}:e2e/app:v1`);
    const out = await wharfOk(["push", "--json", archive, `${wharf.host}/cli/docker:v1`]);
    const lines = out.trim().split("\n").map((l) => JSON.parse(l));
    const aux = lines.find((l) => l.aux)?.aux;
    expect(aux).toMatchObject({ Tag: "v1" });
    expect(aux.Digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(lines.filter((l) => l.status === "Pushed").length).toBe(2);
    expect(lines.some((l) => l.status === "Pushing" && l.progressDetail.current > 0 && l.progressDetail.total > 0)).toBe(true);

    const pulled = join(work, "skopeo-pulled-docker");
    skopeo("copy", "--src-tls-verify=false", `docker://${wharf.host}/cli/docker:v1`, `oci:${pulled}:x`);
    const back = ociImage(pulled, "x");
    // The archive's config travels byte for byte; the layers are new gzip streams of the same tars.
    const entry = JSON.parse(tarFile(archive, "manifest.json"))[0];
    const archivedConfig = tarFile(archive, entry.Config);
    const manifest = await (await fetch(`${wharf.url}/v2/cli/docker/manifests/v1`, { headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" } })).json();
    expect(await (await fetch(`${wharf.url}/v2/cli/docker/blobs/${manifest.config.digest}`)).text()).toBe(archivedConfig);
    expect(manifest.config.digest).toBe(`sha256:${entry.Config.replace(/\.json$/, "")}`);
    expect(back.layers.every((l) => l.mediaType.endsWith("gzip"))).toBe(true);
    const diffIds = JSON.parse(archivedConfig).rootfs.diff_ids;
    expect(layerDiffIds(pulled, back.layers)).toEqual(diffIds);
    expect(diffIds).toEqual(layerDiffIds(layout, ociImage(layout, "v1").layers));

    const inspect = JSON.parse(skopeo("inspect", "--raw", "--tls-verify=false", `docker://${wharf.host}/cli/docker:v1`));
    expect(inspect.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");

    // Pushed again: the layer cache knows what each diff_id became, so nothing is compressed or sent again.
    const again = await wharfOk(["push", archive, `${wharf.host}/cli/docker:v2`]);
    expect(again.match(/Layer already exists/g)?.length).toBe(2);
    const elsewhere = await wharfOk(["push", archive, `${wharf.host}/cli/docker-mounted:v1`]);
    expect(elsewhere.match(/Mounted from cli\/docker/g)?.length).toBe(2);
    const noCache = await wharfOk(["push", "--no-cache", archive, `${wharf.host}/cli/docker-fresh:v1`]);
    expect(noCache.match(/Pushed/g)?.length).toBe(2);
    expect(again).toContain(aux.Digest);
    expect(noCache).toContain(aux.Digest);

    // --compression-level: level 1 makes other (larger) gzip streams of the same tars; the image's
    // content (diff_ids, config) is the same.
    await wharfOk(["push", "--no-cache", "--compression-level", "1", archive, `${wharf.host}/cli/docker-fast:v1`]);
    const fast = await (await fetch(`${wharf.url}/v2/cli/docker-fast/manifests/v1`, { headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" } })).json();
    expect(fast.config.digest).toBe(manifest.config.digest);
    const sizes = (m: { layers: { size: number }[] }) => m.layers.reduce((a, l) => a + l.size, 0);
    expect(sizes(fast)).toBeGreaterThan(sizes(manifest));
    const fastPulled = join(work, "skopeo-pulled-fast");
    skopeo("copy", "--src-tls-verify=false", `docker://${wharf.host}/cli/docker-fast:v1`, `oci:${fastPulled}:x`);
    expect(layerDiffIds(fastPulled, ociImage(fastPulled, "x").layers)).toEqual(diffIds);
    const badLevel = await wharfCli(["push", "--compression-level", "11", archive, `${wharf.host}/cli/docker-bad:v1`]);
    expect(badLevel.code).toBe(2);
    expect(badLevel.stderr).toMatch(/--compression-level must be a whole number from 1 \(fastest\) to 9/);
  });

  it("pushes a skopeo oci: layout (directory and tar) with every digest preserved", async () => {
    const dir = join(work, "skopeo-oci");
    skopeo("copy", `oci:${layout}:v1`, `oci:${dir}:v1`);
    await wharfOk(["push", dir, `${wharf.host}/cli/oci:v1`]);
    const ociTar = join(work, "skopeo-oci.tar");
    skopeo("copy", `oci:${layout}:v1`, `oci-archive:${ociTar}:v1`);
    await wharfOk(["push", ociTar, `${wharf.host}/cli/oci:fromtar`]);

    const original = ociImage(dir, "v1");
    for (const tag of ["v1", "fromtar"]) {
      const info = JSON.parse(skopeo("inspect", "--tls-verify=false", `docker://${wharf.host}/cli/oci:${tag}`));
      expect(info.Digest).toBe(original.manifestDigest);
      expect(info.Layers).toEqual(original.layers.map((l) => l.digest));
    }
    const pulled = join(work, "skopeo-pulled-oci");
    skopeo("copy", "--src-tls-verify=false", `docker://${wharf.host}/cli/oci:v1`, `oci:${pulled}:v1`);
    for (const d of [original.config, ...original.layers]) expect(sha256File(blobPath(pulled, d.digest))).toBe(sha256File(blobPath(dir, d.digest)));
  });
});

describe("skopeo push, wharf pull", () => {
  beforeAll(() => {
    skopeo("copy", "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${wharf.host}/cli/from-skopeo:v1`);
  });

  it("pulls a docker archive in Docker's layout that skopeo reads back with the same layers and config", async () => {
    const tar = join(work, "wharf-pulled.tar");
    await wharfOk(["pull", `${wharf.host}/cli/from-skopeo:v1`, tar]);
    const names = (await indexTar(tar)).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(["manifest.json", "repositories", "index.json", "oci-layout"]));

    // Config byte for byte, layers stored uncompressed under their diff_ids, as Docker writes them.
    const original = ociImage(layout, "v1");
    const entry = JSON.parse(tarFile(tar, "manifest.json"))[0];
    expect(tarFile(tar, entry.Config)).toBe(readFileSync(blobPath(layout, original.config.digest), "utf8"));
    const diffIds = layerDiffIds(layout, original.layers);
    expect(entry.Layers).toEqual(diffIds.map((d) => `blobs/sha256/${d.slice(7)}`));
    expect(entry.RepoTags).toEqual([`${wharf.host}/cli/from-skopeo:v1`]);

    const check = join(work, "check-docker");
    skopeo("copy", `docker-archive:${tar}`, `oci:${check}:x`);
    const back = ociImage(check, "x");
    expect(layerDiffIds(check, back.layers)).toEqual(diffIds);
  });

  it("pulls an OCI layout (directory and tar) byte for byte", async () => {
    const dir = join(work, "wharf-pulled-oci");
    const tar = join(work, "wharf-pulled-oci.tar");
    await wharfOk(["pull", "--format", "oci", `${wharf.host}/cli/from-skopeo:v1`, dir]);
    await wharfOk(["pull", "--format", "oci", `${wharf.host}/cli/from-skopeo:v1`, tar]);
    const original = ociImage(layout, "v1");
    const pulled = ociImage(dir, "v1");
    expect(pulled.manifestDigest).toBe(original.manifestDigest);
    for (const d of [original.config, ...original.layers]) expect(sha256File(blobPath(dir, d.digest))).toBe(sha256File(blobPath(layout, d.digest)));
    const fromTar = join(work, "from-oci-tar");
    skopeo("copy", `oci-archive:${tar}:v1`, `oci:${fromTar}:v1`);
    expect(ociImage(fromTar, "v1").manifestDigest).toBe(original.manifestDigest);
  });
});

describe("wharf commands", () => {
  it("copies within a registry by mounting, lists, inspects and deletes", async () => {
    skopeo("copy", "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${wharf.host}/cli/src:v1`);
    const copied = await wharfOk(["copy", `${wharf.host}/cli/src:v1`, `${wharf.host}/cli/dst:copied`]);
    expect(copied).toMatch(/Mounted from cli\/src/);
    expect((await wharfOk(["tags", `${wharf.host}/cli/dst`])).trim()).toBe("copied");
    expect((await wharfOk(["catalog", wharf.host])).split("\n")).toEqual(expect.arrayContaining(["cli/src", "cli/dst"]));
    const info = JSON.parse(await wharfOk(["inspect", "--json", `${wharf.host}/cli/dst:copied`]));
    expect(info.digest).toBe(ociImage(layout, "v1").manifestDigest);
    expect(info.layers.length).toBe(2);
    expect(info.platform).toBe("linux/amd64");
    await wharfOk(["rm", `${wharf.host}/cli/dst:copied`]);
    const gone = await wharfCli(["inspect", `${wharf.host}/cli/dst:copied`]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/MANIFEST_UNKNOWN/);
    expect(gone.stderr.trim().split("\n").length).toBe(1);
  });

  it("copies to another registry (CNCF distribution), streaming blobs across, digests kept", async () => {
    const other = await startDistribution(join(work, "distribution"));
    try {
      skopeo("copy", "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${wharf.host}/cli/export:v1`);
      const out = await wharfOk(["copy", "--chunk-size", "1MiB", `${wharf.host}/cli/export:v1`, `${other.host}/imported/app:v1`]);
      expect(out.match(/Pushed/g)?.length).toBe(3); // config and two layers
      const info = JSON.parse(skopeo("inspect", "--tls-verify=false", `docker://${other.host}/imported/app:v1`));
      expect(info.Digest).toBe(ociImage(layout, "v1").manifestDigest);
      // And back, into another repository of Wharf: a second copy skips what is there.
      await wharfOk(["copy", `${other.host}/imported/app:v1`, `${wharf.host}/cli/reimported:v1`]);
      const again = await wharfOk(["copy", `${other.host}/imported/app:v1`, `${wharf.host}/cli/reimported:v2`]);
      expect(again.match(/Layer already exists/g)?.length).toBe(3);
    } finally {
      await other.stop();
    }
  });

  it("fails with a one-line error and a nonzero exit code", async () => {
    const noFile = await wharfCli(["push", join(work, "missing.tar"), `${wharf.host}/cli/x:1`]);
    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toMatch(/no such file/);
    const badRef = await wharfCli(["pull", "not-a-ref", join(work, "x.tar")]);
    expect(badRef.code).toBe(2);
    const json = await wharfCli(["pull", "--json", `${wharf.host}/cli/none:v1`, join(work, "none.tar")]);
    expect(json.code).toBe(1);
    const last = JSON.parse(json.stdout.trim().split("\n").pop()!);
    expect(last.errorDetail.message).toMatch(/MANIFEST_UNKNOWN/);
    expect(last.error).toBe(last.errorDetail.message);
  });
});
