/**
 * Push a manifest and everything under it from a content store (OCI layout, or another registry for
 * copy): blobs first (skipped when present, mounted when a source repository on the same registry has
 * them, uploaded otherwise), child manifests of an index by digest, then the root under its tag.
 * Manifests go up byte for byte, so digests are preserved.
 */
import { type Descriptor, type ImageIndex, type ImageManifest, INDEX_TYPES, parseJson } from "../archive/oci";
import type { RegistryClient } from "../../client/registry";
import { pushBlob } from "../../client/upload";
import { parallel, shortId, type TransferEvents } from "./events";
import type { ContentStore } from "./store";

export interface PushGraphOptions {
  chunkSize?: number;
  concurrency?: number;
  events: TransferEvents;
}

const FOREIGN = /foreign|nondistributable/;

/** Push `desc` (and its children) to `repo`, under `reference` (a tag, or its digest). Returns the digest. */
export async function pushGraph(
  client: RegistryClient,
  repo: string,
  store: ContentStore,
  desc: Descriptor,
  reference: string,
  opts: PushGraphOptions,
): Promise<string> {
  const bytes = await store.readManifest(desc);
  if (INDEX_TYPES.has(desc.mediaType)) {
    const index = parseJson<ImageIndex>(bytes, `index ${desc.digest}`);
    for (const child of index.manifests) {
      if (await client.headManifest(repo, child.digest)) continue;
      await pushGraph(client, repo, store, child, child.digest, opts);
    }
  } else {
    const m = parseJson<ImageManifest>(bytes, `manifest ${desc.digest}`);
    const blobs = [...(m.config ? [m.config] : []), ...(m.layers ?? [])].filter((b) => !FOREIGN.test(b.mediaType) && !b.urls?.length);
    await pushBlobs(client, repo, store, blobs, opts);
  }
  return client.putManifest(repo, reference, bytes, desc.mediaType);
}

export async function pushBlobs(client: RegistryClient, repo: string, store: ContentStore, blobs: Descriptor[], opts: PushGraphOptions): Promise<void> {
  const ev = opts.events;
  const unique = [...new Map(blobs.map((b) => [b.digest, b])).values()];
  for (const b of unique) ev.layer(shortId(b.digest), "Preparing");
  await parallel(unique, opts.concurrency ?? 3, async (b) => {
    const id = shortId(b.digest);
    const pushed = await pushBlob(client, repo, store.blob(b), {
      digest: b.digest,
      size: b.size,
      chunkSize: opts.chunkSize,
      mountFrom: store.mountFrom(client.host),
      onProgress: (sent) => ev.layer(id, "Pushing", sent, b.size),
    });
    if (pushed.how === "exists") ev.layer(id, "Layer already exists");
    else if (pushed.how === "mounted") ev.layer(id, `Mounted from ${store.mountFrom(client.host)[0]}`);
    else ev.layer(id, "Pushed");
  });
}
