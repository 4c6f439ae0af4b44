/**
 * `wharf copy`: registry to registry. Every blob the destination has is skipped; on the same registry
 * blobs are mounted from the source repository; otherwise they stream from source to destination
 * (chunked when large). An index is copied whole unless a platform is chosen. Digests are preserved.
 */
import type { Platform } from "../archive/oci";
import { type ImageReference, referenceTarget } from "../../client/reference";
import type { RegistryClient } from "../../client/registry";
import type { TransferEvents } from "./events";
import { resolveImage } from "./pull";
import { pushGraph } from "./push-graph";
import { registryStore } from "./store";

export interface CopyOptions {
  events: TransferEvents;
  platform: Platform | null;
  chunkSize?: number;
}

export async function copyImage(src: RegistryClient, from: ImageReference, dst: RegistryClient, to: ImageReference, opts: CopyOptions): Promise<string> {
  const { desc } = await resolveImage(src, from, opts.platform);
  opts.events.status(`The push refers to repository [${to.host}/${to.repository}]`);
  const tag = to.tag ?? to.digest ?? from.tag ?? desc.digest;
  const digest = await pushGraph(dst, to.repository, registryStore(src, from.repository), desc, tag, opts);
  opts.events.status(`${referenceTarget(to)}: digest: ${digest} size: ${desc.size}`);
  opts.events.aux({ Tag: to.tag ?? from.tag, Digest: digest, Size: desc.size });
  return digest;
}
