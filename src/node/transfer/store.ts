/**
 * Content stores a push or copy reads from: an OCI layout (directory or tar) or a repository of a
 * registry. Both hand out small content (manifests, configs) as bytes and blobs as re-openable streams.
 */
import type { FileSource } from "../archive/files";
import { blobPath, type Descriptor } from "../archive/oci";
import type { RegistryClient } from "../../client/registry";
import type { BlobSource } from "../../client/upload";

export interface ContentStore {
  readonly description: string;
  readManifest(desc: Descriptor): Promise<Uint8Array>;
  blob(desc: Descriptor): BlobSource;
  /** Repositories on the destination registry that may hold the blob (mount candidates). */
  mountFrom(destHost: string): string[];
}

export function layoutStore(src: FileSource): ContentStore {
  return {
    description: src.path,
    readManifest: (d) => src.read(blobPath(d.digest)),
    blob: (d) => ({ open: () => src.open(blobPath(d.digest)) }),
    mountFrom: () => [],
  };
}

export function registryStore(client: RegistryClient, repo: string): ContentStore {
  return {
    description: `${client.host}/${repo}`,
    readManifest: async (d) => (await client.getManifest(repo, d.digest)).bytes,
    blob: (d) => ({ open: () => responseChunks(() => client.getBlob(repo, d.digest)) }),
    mountFrom: (destHost) => (destHost === client.host ? [repo] : []),
  };
}

async function* responseChunks(get: () => Promise<Response>): AsyncGenerator<Uint8Array> {
  const res = await get();
  if (!res.body) return;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
    await res.body.cancel().catch(() => {});
  }
}

/** A blob's bytes from a registry as an async iterable (pulls). */
export function blobChunks(client: RegistryClient, repo: string, digest: string): AsyncIterable<Uint8Array> {
  return responseChunks(() => client.getBlob(repo, digest));
}
