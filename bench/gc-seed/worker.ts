/**
 * POST /seed?from=<i>&count=<n>&perRepo=<k>: repositories gc/r<i> .. gc/r<i+n-1>, each with one config and
 * three 256-byte layers (content index entry, data object, link: BlobStore.commit) and `k` manifests pushed
 * by tag t0..t<k-1> (ManifestStore.put: revision with its references in metadata, tag, reverse index,
 * catalog), each naming the config and layers 0 and 1 except the last, which names layers 0 and 2 and is
 * then deleted by digest (ManifestStore.deleteManifest), leaving layer 2 of every repository to collect.
 * The same registry the HTTP seeding of the benchmark built, written without HTTP (and without the
 * repository Durable Object: one writer, nothing to serialise). Answers the layer-2 digests (the garbage).
 * GET /ping: ready.
 */
import { parseDigest } from "../../src/oci/grammar";
import { parseManifest } from "../../src/oci/manifest";
import { paths } from "../../src/worker/storage/paths";
import { openStorage } from "../../src/worker/storage/registry";

interface Env {
  BUCKET: R2Bucket;
}

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

async function sha256(bytes: Uint8Array): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `sha256:${[...h].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

async function seedRepo(env: Env, name: string, perRepo: number): Promise<string> {
  const storage = openStorage(env.BUCKET);
  const enc = new TextEncoder();
  const blobs: { digest: string; size: number }[] = [];
  const contents = [enc.encode(JSON.stringify({ os: "linux", architecture: "amd64", repo: name })), ...[0, 1, 2].map(() => crypto.getRandomValues(new Uint8Array(256)))];
  for (const bytes of contents) {
    const digest = await sha256(bytes);
    const dataKey = paths.newData();
    await env.BUCKET.put(dataKey, bytes);
    await storage.blobs.commit(name, parseDigest(digest), dataKey, bytes.length);
    blobs.push({ digest, size: bytes.length });
  }
  const [config, l0, l1, l2] = blobs;
  let last = "";
  for (let k = 0; k < perRepo; k++) {
    const final = k === perRepo - 1;
    const bytes = enc.encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: (final ? [l0, l2] : [l0, l1]).map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...l })),
      annotations: { "bench.nonce": `${name}-${k}` },
    }));
    const digest = parseDigest(await sha256(bytes));
    await storage.manifests.put(name, digest, bytes, parseManifest(bytes, OCI_MANIFEST), `t${k}`);
    last = digest.toString();
  }
  await storage.manifests.deleteManifest(name, parseDigest(last));
  return l2.digest;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/ping") return new Response("ok");
    if (request.method !== "POST" || url.pathname !== "/seed") return new Response("POST /seed?from=&count=&perRepo=", { status: 404 });
    const from = Number(url.searchParams.get("from"));
    const count = Number(url.searchParams.get("count"));
    const perRepo = Number(url.searchParams.get("perRepo"));
    if (![from, count, perRepo].every((n) => Number.isInteger(n) && n >= 0) || count > 100 || perRepo < 1 || perRepo > 100) {
      return new Response("from, count (≤ 100) and perRepo (1..100) must be whole numbers", { status: 400 });
    }
    const names = Array.from({ length: count }, (_, i) => `gc/r${String(from + i).padStart(5, "0")}`);
    const garbage = await Promise.all(names.map((n) => seedRepo(env, n, perRepo)));
    return Response.json({ repositories: names.length, manifests: names.length * perRepo, garbage });
  },
};
