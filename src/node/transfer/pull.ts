/**
 * `wharf pull`: images from a registry into a docker archive (loadable with `docker load`) or an OCI
 * layout (directory, or tar when the name ends in .tar). An index is narrowed to one platform (the
 * host's by default); with platform "all" an OCI layout keeps the whole index. Several references can
 * go into one archive. Blobs stream from the registry to disk and are verified on the way.
 */
import { rm } from "node:fs/promises";
import { DockerArchiveWriter } from "../archive/docker-archive";
import { choosePlatform, CONTAINERD_NAME, type Descriptor, formatPlatform, type ImageIndex, type ImageManifest, INDEX_TYPES, parseJson, type Platform, REF_NAME } from "../archive/oci";
import { createOciDirWriter, createOciTarWriter, type OciLayoutWriter } from "../archive/oci-layout";
import { type ImageReference, referenceTarget } from "../../client/reference";
import type { RegistryClient } from "../../client/registry";
import { parallel, shortId, type TransferEvents } from "./events";
import { blobChunks } from "./store";

export interface PullOptions {
  format: "docker" | "oci";
  /** null: every platform of an index (OCI layouts only). */
  platform: Platform | null;
  events: TransferEvents;
  concurrency?: number;
}

export interface PulledImage {
  ref: ImageReference;
  digest: string;
  mediaType: string;
}

interface Resolved {
  desc: Descriptor;
  bytes: Uint8Array;
}

/** The manifest a reference names, narrowed to one platform when it is an index and a platform is set. */
export async function resolveImage(client: RegistryClient, ref: ImageReference, platform: Platform | null): Promise<Resolved> {
  const m = await client.getManifest(ref.repository, referenceTarget(ref));
  let desc: Descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.byteLength };
  let bytes = m.bytes;
  if (INDEX_TYPES.has(desc.mediaType) && platform) {
    desc = choosePlatform(parseJson<ImageIndex>(bytes, "index"), platform);
    bytes = (await client.getManifest(ref.repository, desc.digest)).bytes;
  }
  return { desc, bytes };
}

export async function pullImages(client: RegistryClient, refs: ImageReference[], out: string, opts: PullOptions): Promise<PulledImage[]> {
  try {
    return opts.format === "docker" ? await pullDocker(client, refs, out, opts) : await pullOci(client, refs, out, opts);
  } catch (e) {
    if (opts.format === "docker" || out.endsWith(".tar")) await rm(out, { force: true });
    throw e;
  }
}

async function pullDocker(client: RegistryClient, refs: ImageReference[], out: string, opts: PullOptions): Promise<PulledImage[]> {
  if (!opts.platform) throw new Error("a docker archive holds one platform per image: give --platform os/arch, or use --format oci");
  const writer = await DockerArchiveWriter.create(out);
  const ev = opts.events;
  const done: PulledImage[] = [];
  try {
    for (const ref of refs) {
      ev.status(`${referenceTarget(ref)}: Pulling from ${ref.repository}`);
      const { desc, bytes } = await resolveImage(client, ref, opts.platform);
      if (INDEX_TYPES.has(desc.mediaType)) throw new Error(`${ref.repository}: nested index for ${formatPlatform(opts.platform)} is not supported`);
      const m = parseJson<ImageManifest>(bytes, `manifest ${desc.digest}`);
      const config = await client.getBlobBytes(ref.repository, m.config.digest);
      for (const l of m.layers) ev.layer(shortId(l.digest), "Pulling fs layer");
      await writer.addImage({
        repoTags: ref.tag ? [`${ref.host}/${ref.repository}:${ref.tag}`] : [],
        config,
        configDigest: m.config.digest,
        layers: m.layers.map((l) => ({ descriptor: l, open: async () => blobChunks(client, ref.repository, l.digest) })),
        onBytes: (i, n) => ev.layer(shortId(m.layers[i].digest), "Downloading", n, m.layers[i].size),
        onLayer: (i, e) => e === "done" && ev.layer(shortId(m.layers[i].digest), "Pull complete"),
      });
      ev.status(`Digest: ${desc.digest}`);
      done.push({ ref, digest: desc.digest, mediaType: desc.mediaType });
    }
    await writer.finish();
    return done;
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

async function pullOci(client: RegistryClient, refs: ImageReference[], out: string, opts: PullOptions): Promise<PulledImage[]> {
  const writer = out.endsWith(".tar") ? await createOciTarWriter(out) : await createOciDirWriter(out);
  const entries: Descriptor[] = [];
  const done: PulledImage[] = [];
  try {
    for (const ref of refs) {
      opts.events.status(`${referenceTarget(ref)}: Pulling from ${ref.repository}`);
      const { desc, bytes } = await resolveImage(client, ref, opts.platform);
      await pullGraph(client, ref.repository, desc, bytes, writer, opts);
      const annotations: Record<string, string> = {};
      if (ref.tag) {
        annotations[REF_NAME] = ref.tag;
        annotations[CONTAINERD_NAME] = `${ref.host}/${ref.repository}:${ref.tag}`;
      }
      entries.push({ mediaType: desc.mediaType, digest: desc.digest, size: desc.size, ...(ref.tag ? { annotations } : {}) });
      opts.events.status(`Digest: ${desc.digest}`);
      done.push({ ref, digest: desc.digest, mediaType: desc.mediaType });
    }
    await writer.finish(entries);
    return done;
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

/** Write a manifest and everything under it into an OCI layout. */
export async function pullGraph(client: RegistryClient, repo: string, desc: Descriptor, bytes: Uint8Array, writer: OciLayoutWriter, opts: PullOptions): Promise<void> {
  if (INDEX_TYPES.has(desc.mediaType)) {
    for (const child of parseJson<ImageIndex>(bytes, `index ${desc.digest}`).manifests) {
      const m = await client.getManifest(repo, child.digest);
      await pullGraph(client, repo, child, m.bytes, writer, opts);
    }
  } else {
    const m = parseJson<ImageManifest>(bytes, `manifest ${desc.digest}`);
    const ev = opts.events;
    const blobs = [...(m.config ? [m.config] : []), ...(m.layers ?? [])].filter((b) => !b.urls?.length);
    const todo = [...new Map(blobs.map((b) => [b.digest, b])).values()].filter((b) => {
      if (!writer.hasBlob(b.digest)) return true;
      ev.layer(shortId(b.digest), "Already exists");
      return false;
    });
    for (const b of todo) ev.layer(shortId(b.digest), "Pulling fs layer");
    await parallel(todo, opts.concurrency ?? 3, async (b) => {
      const id = shortId(b.digest);
      await writer.writeBlob(b, blobChunks(client, repo, b.digest), (n) => ev.layer(id, "Downloading", n, b.size));
      ev.layer(id, "Pull complete");
    });
  }
  await writer.writeBytes(desc, bytes);
}
