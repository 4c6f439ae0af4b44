// The reference check of a manifest push (issue 10, defects 5 and 6): every blob and child manifest must
// exist with the size its descriptor declares; each distinct target is looked up once, a bounded number at
// a time; a manifest over MAX_MANIFEST_REFERENCES is refused before any lookup; error bodies stay short.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseDigest } from "../../src/oci/grammar";
import type { ContentReference } from "../../src/oci/manifest";
import { asRegistryError, type RegistryError } from "../../src/worker/errors";
import { openStorage } from "../../src/worker/storage/registry";
import { CHECK_CONCURRENCY, checkReferences, MAX_MANIFEST_REFERENCES, REPORT_CAP } from "../../src/worker/http/manifest-references";
import { expectError, OCI_INDEX, OCI_MANIFEST, pushBlob, pushImage, randomBytes, req, sha256 } from "./harness";

const LAYER = "application/vnd.oci.image.layer.v1.tar";
const CONFIG = "application/vnd.oci.image.config.v1+json";

function image(config: { digest: string; size: number }, layers: { digest: string; size: number }[]): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: CONFIG, ...config },
    layers: layers.map((l) => ({ mediaType: LAYER, ...l })),
  });
}

const put = (name: string, ref: string, body: string, type = OCI_MANIFEST) =>
  req("PUT", `/v2/${name}/manifests/${ref}`, { body, headers: { "Content-Type": type } });

/** The real R2 binding, with every call counted and the most calls in flight at once recorded. */
function countingBucket() {
  const stats = { calls: 0, inFlight: 0, maxInFlight: 0 };
  const bucket = new Proxy(env.BUCKET, {
    get(target, prop) {
      const v = Reflect.get(target, prop);
      if (typeof v !== "function") return v;
      return async (...args: unknown[]) => {
        stats.calls++;
        stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight);
        try {
          return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          stats.inFlight--;
        }
      };
    },
  });
  return { stats, storage: openStorage(bucket) };
}

async function missingDigests(n: number): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => sha256(`missing ${i}`)));
}

async function codeOf(p: Promise<unknown>): Promise<RegistryError> {
  try {
    await p;
  } catch (err) {
    const e = asRegistryError(err); // storage throws a DomainError; this is the OCI error it is answered with
    if (e) return e;
    throw err;
  }
  throw new Error("expected an error the registry answers");
}

describe("descriptor sizes must match the content (defect 6)", () => {
  it("a layer that says size 5 for a 2048-byte blob is 400 MANIFEST_INVALID naming the descriptor and the stored size", async () => {
    const cfg = await pushBlob("refs/size", "{}");
    const layer = await pushBlob("refs/size", randomBytes(2048));
    const res = await put("refs/size", "v1", image({ digest: cfg, size: 2 }, [{ digest: layer, size: 5 }]));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { code: string; message: string; detail: { descriptors: unknown[] } }[] };
    expect(body.errors[0].code).toBe("MANIFEST_INVALID");
    expect(body.errors[0].message).toContain("layers[0]");
    expect(body.errors[0].message).toContain("2048");
    expect(body.errors[0].detail.descriptors).toEqual([{ where: "layers[0]", digest: layer, size: 5, stored: 2048 }]);
    await expectError(await req("GET", "/v2/refs/size/manifests/v1"), 404, "MANIFEST_UNKNOWN");
  });

  it("a wrong config size and a wrong child manifest size are refused too; the right sizes are accepted", async () => {
    const cfg = await pushBlob("refs/size2", "{}");
    await expectError(await put("refs/size2", "c", image({ digest: cfg, size: 3 }, [])), 400, "MANIFEST_INVALID");
    const child = await pushImage("refs/size2", undefined);
    const index = (size: number) =>
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size }] });
    const bad = await put("refs/size2", "i", index(child.body.length + 1), OCI_INDEX);
    await expectError(bad, 400, "MANIFEST_INVALID");
    expect((await put("refs/size2", "i", index(child.body.length), OCI_INDEX)).status).toBe(201);
    expect((await put("refs/size2", "c", image({ digest: cfg, size: 2 }, []))).status).toBe(201);
  });

  it("one digest listed twice with two sizes: the wrong one is named", async () => {
    const cfg = await pushBlob("refs/size3", "{}");
    const layer = await pushBlob("refs/size3", randomBytes(100));
    const res = await put("refs/size3", "v", image({ digest: cfg, size: 2 }, [{ digest: layer, size: 100 }, { digest: layer, size: 99 }]));
    const body = (await res.json()) as { errors: { code: string; detail: { descriptors: { where: string }[] } }[] };
    expect(res.status).toBe(400);
    expect(body.errors[0].detail.descriptors.map((d) => d.where)).toEqual(["layers[1]"]);
  });
});

describe("bounded reference checks (defect 5)", () => {
  it("10,000 layers of one digest: looked up once, and the manifest is stored", async () => {
    const cfg = await pushBlob("refs/many", "{}");
    const layerBytes = randomBytes(10);
    const layer = await pushBlob("refs/many", layerBytes);
    const body = image({ digest: cfg, size: 2 }, Array.from({ length: 10_000 }, () => ({ digest: layer, size: 10 })));
    expect((await put("refs/many", "v1", body)).status).toBe(201);

    const { stats, storage } = countingBucket();
    const refs: ContentReference[] = Array.from({ length: 10_000 }, (_, i) => ({ kind: "blob", digest: parseDigest(layer), size: 10, where: `layers[${i}]` }));
    await checkReferences(storage, "refs/many", refs);
    expect(stats.calls).toBe(2); // one link head and one content index head
  });

  it("10,000 distinct missing digests: refused before any lookup, with a short body", async () => {
    const cfg = await pushBlob("refs/over", "{}");
    const digests = await missingDigests(10_000);
    const res = await put("refs/over", "v1", image({ digest: cfg, size: 2 }, digests.map((digest) => ({ digest, size: 1 }))));
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(JSON.parse(text).errors[0].code).toBe("MANIFEST_INVALID");
    expect(JSON.parse(text).errors[0].message).toContain(String(MAX_MANIFEST_REFERENCES));
    expect(text.length).toBeLessThan(1024);

    const { stats, storage } = countingBucket();
    const refs: ContentReference[] = digests.map((d, i) => ({ kind: "blob", digest: parseDigest(d), size: 1, where: `layers[${i}]` }));
    const err = await codeOf(checkReferences(storage, "refs/over", refs));
    expect(err.code).toBe("MANIFEST_INVALID");
    expect(stats.calls).toBe(0);
  });

  it("exactly MAX_MANIFEST_REFERENCES distinct targets are checked; one more is refused", async () => {
    const digests = await missingDigests(MAX_MANIFEST_REFERENCES + 1);
    const refs = digests.map((d, i): ContentReference => ({ kind: "manifest", digest: parseDigest(d), size: 1, where: `manifests[${i}]` }));
    const { storage } = countingBucket();
    expect((await codeOf(checkReferences(storage, "refs/limit", refs))).code).toBe("MANIFEST_INVALID");
    expect((await codeOf(checkReferences(storage, "refs/limit", refs.slice(1)))).code).toBe("MANIFEST_BLOB_UNKNOWN");
  });

  it("many missing digests: lookups stop once REPORT_CAP are known, run CHECK_CONCURRENCY at a time, and the body lists at most REPORT_CAP", async () => {
    const cfg = await pushBlob("refs/missing", "{}");
    const digests = await missingDigests(2000);
    const res = await put("refs/missing", "v1", image({ digest: cfg, size: 2 }, digests.map((digest) => ({ digest, size: 1 }))));
    const text = await res.text();
    expect(res.status).toBe(400);
    const err = JSON.parse(text).errors[0] as { code: string; detail: { digests: string[] } };
    expect(err.code).toBe("MANIFEST_BLOB_UNKNOWN");
    expect(err.detail.digests.length).toBe(REPORT_CAP);
    for (const d of err.detail.digests) expect(digests).toContain(d);
    expect(text.length).toBeLessThan(2048);

    const { stats, storage } = countingBucket();
    const refs = digests.map((d, i): ContentReference => ({ kind: "blob", digest: parseDigest(d), size: 1, where: `layers[${i}]` }));
    await codeOf(checkReferences(storage, "refs/missing", refs));
    // A blob lookup is two heads (link and content index); at most CHECK_CONCURRENCY lookups are running.
    expect(stats.maxInFlight).toBeLessThanOrEqual(2 * CHECK_CONCURRENCY);
    expect(stats.maxInFlight).toBeGreaterThan(2);
    expect(stats.calls).toBeLessThanOrEqual(2 * (REPORT_CAP + CHECK_CONCURRENCY));
  });

  it("an index of 20 children, some listed twice, is checked and stored", async () => {
    const manifests: { mediaType: string; digest: string; size: number }[] = [];
    for (let i = 0; i < 20; i++) {
      const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], annotations: { i: String(i) } });
      const r = await put("refs/idx", `c${i}`, body, OCI_INDEX);
      expect(r.status).toBe(201);
      manifests.push({ mediaType: OCI_INDEX, digest: r.headers.get("Docker-Content-Digest")!, size: body.length });
    }
    const res = await put("refs/idx", "all", JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...manifests, ...manifests.slice(0, 5)] }), OCI_INDEX);
    expect(res.status).toBe(201);
  });

});
