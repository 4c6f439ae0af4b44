/**
 * `docker save` and `docker load` for the image store, on the archive code the CLI uses
 * (src/node/archive): save writes the Docker ≥ 25 archive (DockerArchiveWriter: layers decompressed
 * while they stream in, checked against the config's diff_ids); load reads either form of `docker save`
 * archive (manifest.json) and stores each image as a registry would hold it: a Docker schema 2 manifest
 * with gzip layers, as `docker push` makes. A layer already gzip-compressed is kept as it is; a plain one
 * is compressed on the way in (its diff_id checked), unless the store still holds the compressed blob
 * it came from (`diffs`, recorded by pulls and loads), which is reused, so its digest survives.
 */
import { createHash } from "node:crypto";
import { pipeline, Transform } from "node:stream";
import { createGzip } from "node:zlib";
import { DockerArchiveWriter, isDockerArchive, readDockerManifest } from "../../archive/docker-archive";
import { openFileSource, sniffCompression } from "../../archive/files";
import { type Descriptor, type ImageConfig, parseJson } from "../../archive/oci";
import { MediaTypes as MT } from "../../../oci/media-types";
import { badRequest } from "../errors";
import { formatLocal, parseLocalName } from "../refs";
import type { ImageStore, StoredImage } from "./image-store";

/** Load every image of the archive at `file`; returns docker's "Loaded image: …" lines. */
export async function loadArchive(store: ImageStore, file: string): Promise<string[]> {
  const src = await openFileSource(file).catch((e: Error) => {
    throw badRequest(`not a docker save archive: ${e.message}`);
  });
  if (!isDockerArchive(src)) throw badRequest("not a docker save archive: it has no manifest.json");
  const entries = await readDockerManifest(src).catch((e: Error) => {
    throw badRequest(e.message);
  });
  const lines: string[] = [];
  for (const e of entries) {
    const configBytes = await src.read(e.Config);
    const config = parseJson<ImageConfig>(configBytes, e.Config);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== e.Layers.length) throw badRequest(`${e.Config} lists ${diffIds.length} diff_ids for ${e.Layers.length} layers`);
    const layers: Descriptor[] = [];
    for (const [i, path] of e.Layers.entries()) layers.push(await loadLayer(store, src, path, diffIds[i]));
    const configDesc = await store.putBytes(configBytes);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.dockerManifest,
      config: { mediaType: MT.dockerConfig, size: configBytes.byteLength, digest: configDesc.digest },
      layers,
    }, null, 3));
    const m = await store.putBytes(manifest);
    const names = (e.RepoTags ?? []).map((t) => formatLocal(parseLocalName(t)));
    const now = new Date().toISOString();
    await store.update((refs) => {
      for (const n of names) {
        refs.tags[n] = m.digest;
        refs.tagged[n] = now;
      }
      // An untagged image is kept under its ID's digest reference, so it lists as <none>.
      if (!names.length) refs.digests[`<none>@${m.digest}`] = m.digest;
      diffIds.forEach((d, i) => (refs.diffs[d] = layers[i]));
    });
    if (names.length) for (const n of names) lines.push(`Loaded image: ${n}`);
    else lines.push(`Loaded image ID: ${configDesc.digest}`);
  }
  return lines;
}

async function loadLayer(store: ImageStore, src: Awaited<ReturnType<typeof openFileSource>>, path: string, diffId: string): Promise<Descriptor> {
  const known = store.refs.diffs[diffId];
  if (known && store.has(known.digest)) return known;
  const compression = sniffCompression(await src.head(path, 4));
  if (compression === "gzip") {
    const { digest, size } = await store.ingest(src.open(path));
    return { mediaType: MT.dockerLayerGzip, digest, size };
  }
  if (compression !== "none") throw badRequest(`layer ${path} is ${compression}-compressed; only plain and gzip layers can be loaded`);
  const h = createHash("sha256");
  const hashing = new Transform({
    transform(chunk: Buffer, _e, cb) {
      h.update(chunk);
      cb(null, chunk);
    },
  });
  const { digest, size } = await store.ingest(pipeline(src.open(path), hashing, createGzip(), () => {}));
  const actual = `sha256:${h.digest("hex")}`;
  if (actual !== diffId) throw badRequest(`layer ${path} has digest ${actual}, but the config says diff_id ${diffId}`);
  return { mediaType: MT.dockerLayerGzip, digest, size };
}

/** Write `images` (each with the names to record for it) as a docker archive at `out`. */
export async function saveArchive(store: ImageStore, images: { img: StoredImage; repoTags: string[] }[], out: string): Promise<void> {
  const w = await DockerArchiveWriter.create(out);
  try {
    for (const { img, repoTags } of images) {
      await w.addImage({
        repoTags,
        config: await store.readBlob(img.id),
        configDigest: img.id,
        layers: img.manifest.layers.map((l) => ({ descriptor: l, open: async () => store.openBlob(l.digest) })),
      });
    }
    await w.finish();
  } catch (e) {
    await w.abort();
    throw e;
  }
}
