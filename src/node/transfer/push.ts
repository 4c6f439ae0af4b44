/**
 * `wharf push`: an archive on disk (docker save tar, OCI layout directory or tar) to a registry.
 *
 * Docker archives: layers are stored uncompressed; each is gzip-compressed while it uploads, on every
 * core (archive/parallel-gzip.ts: blocks deflated on zlib's worker threads) (one pass:
 * the compressed digest is computed on the way and sent with the final PUT), and the uncompressed bytes
 * are hashed alongside and checked against the config's diff_ids, which stay as they are. A layer that
 * is already gzip-compressed is pushed as is. The manifest is Docker's schema 2, as `docker push` makes.
 * OCI layouts are pushed as they are (push-graph.ts), preserving every digest.
 */
import { createHash } from "node:crypto";
import { Readable, Transform } from "node:stream";
import { readDockerManifest, type DockerArchiveEntry, isDockerArchive } from "../archive/docker-archive";
import { type FileSource, openFileSource, sniffCompression } from "../archive/files";
import { choosePlatform, type Descriptor, type ImageConfig, type ImageIndex, INDEX_TYPES, parseJson, type Platform, REF_NAME } from "../archive/oci";
import { MediaTypes } from "../../oci/media-types";
import { isOciLayout, readOciIndex } from "../archive/oci-layout";
import { parallelGzip } from "../archive/parallel-gzip";
import { sha256Of } from "../../client/hash";
import type { ImageReference } from "../../client/reference";
import type { RegistryClient } from "../../client/registry";
import { type BlobSource, pushBlob } from "../../client/upload";
import { parallel, shortId, type TransferEvents } from "./events";
import { pushGraph } from "./push-graph";
import type { CachedLayer, LayerCache } from "./layer-cache";
import { layoutStore } from "./store";

export interface PushOptions {
  events: TransferEvents;
  chunkSize?: number;
  concurrency?: number;
  /** Which image of a multi-image archive ("repo:tag" as in RepoTags/ref name, or its position from 0). */
  image?: string;
  /** Push only this platform's manifest out of an index (default: the whole index). */
  platform?: Platform;
  /** Where docker-archive layers went before (skip/mount without recompressing); null: no cache. */
  layerCache?: LayerCache | null;
  /** gzip level (1-9) for docker-archive layers stored uncompressed; default zlib's (6). */
  compressionLevel?: number;
}

export interface PushResult {
  digest: string;
  size: number;
  mediaType: string;
}

export async function pushArchive(client: RegistryClient, path: string, dest: ImageReference, opts: PushOptions): Promise<PushResult> {
  const src = await openFileSource(path);
  const tag = dest.tag ?? "latest";
  opts.events.status(`The push refers to repository [${dest.host}/${dest.repository}]`);
  let result: PushResult;
  if (isDockerArchive(src)) {
    const entries = await readDockerManifest(src);
    result = await pushDockerImage(client, src, pick(entries, opts.image, (e) => e.RepoTags ?? [], path), dest.repository, tag, opts);
  } else if (isOciLayout(src)) {
    const index = await readOciIndex(src);
    let root = pick(index.manifests, opts.image, (d) => (d.annotations?.[REF_NAME] ? [d.annotations[REF_NAME]] : []), path);
    if (opts.platform && INDEX_TYPES.has(root.mediaType)) {
      root = choosePlatform(parseJson<ImageIndex>(await src.read(`blobs/${root.digest.replace(":", "/")}`), "index"), opts.platform);
    }
    const digest = await pushGraph(client, dest.repository, layoutStore(src), root, tag, opts);
    result = { digest, size: root.size, mediaType: root.mediaType };
  } else {
    throw new Error(`${path}: neither a docker archive (manifest.json) nor an OCI layout (index.json, oci-layout)`);
  }
  opts.events.status(`${tag}: digest: ${result.digest} size: ${result.size}`);
  opts.events.aux({ Tag: tag, Digest: result.digest, Size: result.size });
  return result;
}

/** One item of a list: the only one, the one named (by tag or position), or an error listing them. */
function pick<T>(items: T[], want: string | undefined, names: (t: T) => string[], path: string): T {
  if (want !== undefined) {
    const byName = items.find((t) => names(t).some((n) => n === want || n.endsWith(`/${want}`) || n.endsWith(`:${want}`)));
    const byPos = /^\d+$/.test(want) ? items[Number(want)] : undefined;
    const found = byName ?? byPos;
    if (!found) throw new Error(`${path}: no image ${want} (it has: ${describeAll(items, names)})`);
    return found;
  }
  if (items.length === 1) return items[0];
  throw new Error(`${path} holds ${items.length} images (${describeAll(items, names)}): choose one with --image`);
}

function describeAll<T>(items: T[], names: (t: T) => string[]): string {
  return items.map((t, i) => names(t).join(" ") || `#${i}`).join(", ");
}

/** Counts and hashes the uncompressed bytes on their way into gzip. */
function diffHasher(onBytes: (n: number) => void) {
  const h = createHash("sha256");
  let done = "";
  let n = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _e, cb) {
      h.update(chunk);
      onBytes((n += chunk.length));
      cb(null, chunk);
    },
    flush(cb) {
      done = `sha256:${h.digest("hex")}`;
      cb();
    },
  });
  return { stream, digest: () => done };
}

interface DockerLayerPlan {
  path: string;
  diffId: string;
  source: BlobSource;
  mediaType: string;
  /** The uncompressed digest seen by the last complete pass of the gzip source (for the diff_id check). */
  lastDiff?: () => string;
  /** Uncompressed bytes read by the current pass (progress against the file's size). */
  read?: number;
}

function planLayer(src: FileSource, path: string, diffId: string, compression: string, level: number | undefined): DockerLayerPlan {
  if (compression === "gzip") {
    return { path, diffId, mediaType: MediaTypes.dockerLayerGzip, source: { open: () => src.open(path) } };
  }
  if (compression !== "none") throw new Error(`${src.path}: layer ${path} is ${compression}-compressed; only plain and gzip layers can go in a Docker manifest`);
  const plan: DockerLayerPlan = { path, diffId, mediaType: MediaTypes.dockerLayerGzip, source: { open: () => { throw new Error("unreachable"); } } };
  plan.source = {
    open: () => {
      const d = diffHasher((n) => (plan.read = n));
      plan.lastDiff = d.digest;
      return Readable.from(src.open(path)).pipe(d.stream).pipe(parallelGzip({ level }));
    },
  };
  return plan;
}

async function pushDockerImage(client: RegistryClient, src: FileSource, entry: DockerArchiveEntry, repo: string, tag: string, opts: PushOptions): Promise<PushResult> {
  const ev = opts.events;
  const configBytes = await src.read(entry.Config);
  const config = parseJson<ImageConfig>(configBytes, `${src.path}: ${entry.Config}`);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== entry.Layers.length) {
    throw new Error(`${src.path}: config has ${diffIds.length} diff_ids but manifest.json lists ${entry.Layers.length} layers`);
  }
  const plans = await Promise.all(entry.Layers.map(async (p, i) => planLayer(src, p, diffIds[i], sniffCompression(await src.head(p, 4)), opts.compressionLevel)));
  for (const p of plans) ev.layer(shortId(p.diffId), "Preparing");
  const cache = opts.layerCache ?? null;
  const hostRepo = `${client.host}/${repo}`;
  const layers: Descriptor[] = await parallel(plans, opts.concurrency ?? 3, async (p) => {
    const id = shortId(p.diffId);
    const known = await reuseKnownLayer(client, repo, cache?.get(p.diffId));
    if (known) {
      ev.layer(id, known.how === "exists" ? "Layer already exists" : `Mounted from ${known.from}`);
      cache!.record(p.diffId, known.desc, hostRepo);
      return known.desc;
    }
    const total = src.size(p.path);
    const pushed = await pushBlob(client, repo, p.source, {
      chunkSize: opts.chunkSize,
      onProgress: (sent) => ev.layer(id, "Pushing", Math.min(p.read ?? sent, total), total),
    });
    if (p.lastDiff && p.lastDiff() !== p.diffId) {
      throw new Error(`${src.path}: layer ${p.path} has digest ${p.lastDiff()}, but the config says diff_id ${p.diffId}`);
    }
    ev.layer(id, "Pushed");
    const desc = { mediaType: p.mediaType, digest: pushed.digest, size: pushed.size };
    cache?.record(p.diffId, desc, hostRepo);
    return desc;
  });
  cache?.save();
  const configDigest = await sha256Of(configBytes);
  await pushBlob(client, repo, { open: () => Readable.from([configBytes]) }, { digest: configDigest, size: configBytes.byteLength });
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.dockerManifest,
    config: { mediaType: MediaTypes.dockerConfig, size: configBytes.byteLength, digest: configDigest },
    layers,
  }, null, 3));
  const digest = await client.putManifest(repo, tag, manifest, MediaTypes.dockerManifest);
  return { digest, size: manifest.byteLength, mediaType: MediaTypes.dockerManifest };
}

/** A layer pushed before (per the cache) that this repository has, or can mount from one that has it. */
async function reuseKnownLayer(client: RegistryClient, repo: string, known: CachedLayer | undefined): Promise<{ desc: Descriptor; how: "exists" | "mounted"; from?: string } | null> {
  if (!known) return null;
  const desc = { mediaType: known.mediaType, digest: known.digest, size: known.size };
  const size = await client.headBlob(repo, known.digest);
  if (size === known.size) return { desc, how: "exists" };
  for (const hostRepo of known.repos) {
    const slash = hostRepo.indexOf("/");
    const [host, from] = [hostRepo.slice(0, slash), hostRepo.slice(slash + 1)];
    if (host !== client.host || from === repo) continue;
    if (await client.mountBlob(repo, known.digest, from)) return { desc, how: "mounted", from };
  }
  return null;
}
