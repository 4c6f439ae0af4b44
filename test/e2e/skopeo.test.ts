// End to end: the real local server (npm start) driven by skopeo, with images built by umoci.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWharf, type Wharf } from "./harness";
import { blobPath, buildOciImage, hashTree, ociImage, run, sha256File } from "./images";

let wharf: Wharf;
let work: string;
let layout: string;

const skopeo = (...args: string[]) => run("skopeo", ["--insecure-policy", ...args]);
const dest = () => ["--dest-tls-verify=false"];
const src = () => ["--src-tls-verify=false"];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "wharf-skopeo-"));
  layout = buildOciImage(work, "v1", ["/usr/share/doc/git", "/usr/share/doc/skopeo"]);
  wharf = await startWharf();
});

afterAll(async () => {
  await wharf?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("skopeo against Wharf", () => {
  it("pushes an OCI image with two filesystem layers and pulls it back byte for byte", () => {
    const image = ociImage(layout, "v1");
    expect(image.layers.length).toBe(2);
    skopeo("copy", ...dest(), `oci:${layout}:v1`, `docker://${wharf.host}/e2e/oci-app:v1`);

    const out = join(work, "pulled");
    skopeo("copy", ...src(), `docker://${wharf.host}/e2e/oci-app:v1`, `oci:${out}:v1`);
    const pulled = ociImage(out, "v1");
    expect(pulled.manifestDigest).toBe(image.manifestDigest);
    for (const d of [image.config, ...image.layers]) {
      expect(sha256File(blobPath(out, d.digest))).toBe(sha256File(blobPath(layout, d.digest)));
      expect(`sha256:${sha256File(blobPath(out, d.digest))}`).toBe(d.digest);
    }

    const inspect = JSON.parse(skopeo("inspect", "--tls-verify=false", `docker://${wharf.host}/e2e/oci-app:v1`)) as { Digest: string; Layers: string[] };
    expect(inspect.Digest).toBe(image.manifestDigest);
    expect(inspect.Layers).toEqual(image.layers.map((l) => l.digest));
    const tags = JSON.parse(skopeo("list-tags", "--tls-verify=false", `docker://${wharf.host}/e2e/oci-app`)) as { Tags: string[] };
    expect(tags.Tags).toEqual(["v1"]);
  });

  it("pushes a docker-archive and pulls it back as one with the same layer contents", () => {
    const archive = join(work, "image.tar");
    skopeo("copy", `oci:${layout}:v1`, `docker-archive:${archive}:e2e/archived:v1`);
    skopeo("copy", ...dest(), `docker-archive:${archive}`, `docker://${wharf.host}/e2e/archived:v1`);
    const back = join(work, "back.tar");
    skopeo("copy", ...src(), `docker://${wharf.host}/e2e/archived:v1`, `docker-archive:${back}:e2e/archived:v1`);

    const a = join(work, "a");
    const b = join(work, "b");
    mkdirSync(a);
    mkdirSync(b);
    run("tar", ["-xf", archive, "-C", a]);
    run("tar", ["-xf", back, "-C", b]);
    const ma = JSON.parse(readFileSync(join(a, "manifest.json"), "utf8")) as { Config: string; Layers: string[] }[];
    const mb = JSON.parse(readFileSync(join(b, "manifest.json"), "utf8")) as { Config: string; Layers: string[] }[];
    expect(mb[0].Layers.length).toBe(2);
    expect(mb[0].Layers.map((l) => sha256File(join(b, l)))).toEqual(ma[0].Layers.map((l) => sha256File(join(a, l))));
    expect(sha256File(join(b, mb[0].Config))).toBe(sha256File(join(a, ma[0].Config)));
    expect(Object.keys(hashTree(b)).length).toBeGreaterThan(2);
  });

  it("keeps its state across a restart", async () => {
    await wharf.restart();
    const out = join(work, "after-restart");
    skopeo("copy", ...src(), `docker://${wharf.host}/e2e/oci-app:v1`, `oci:${out}:v1`);
    expect(ociImage(out, "v1").manifestDigest).toBe(ociImage(layout, "v1").manifestDigest);
    const catalog = (await (await fetch(`${wharf.url}/v2/_catalog`)).json()) as { repositories: string[] };
    expect(catalog.repositories).toEqual(["e2e/archived", "e2e/oci-app"]);
  });

  it("deletes through the API are seen by skopeo", async () => {
    skopeo("delete", "--tls-verify=false", `docker://${wharf.host}/e2e/archived:v1`);
    expect(() => skopeo("inspect", "--tls-verify=false", `docker://${wharf.host}/e2e/archived:v1`)).toThrow();
  });
});
