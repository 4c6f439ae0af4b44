/**
 * Deleting a tag or a manifest, the one way both the API (DELETE /v2/<name>/manifests/<ref>) and the web
 * UI's delete pages do it: refused for immutable tags (IMMUTABLE_TAGS), serialised with the repository's
 * other tag and manifest mutations by its Durable Object (src/worker/repository/), the content cache told
 * before and after (so a read racing the delete cannot refill it), and a delete event raised.
 */
import type { ManifestReference } from "../../oci/grammar";
import type { Digest } from "../../oci/grammar";
import { contentCache } from "../cache/content-cache";
import type { EventSink } from "../events";
import { checkDelete } from "../gc/immutable";
import { gcSettingsOf } from "../gc/settings";
import type { Repositories } from "../repository/client";
import type { Settings } from "../settings";
import type { RegistryStorage } from "../storage/registry";

export interface ManifestDeleter {
  settings: Settings;
  storage: RegistryStorage;
  repositories: Repositories;
  events: EventSink;
}

/** Delete `ref` from repository `name`; returns the digest the tag pointed at, or the deleted digest. */
export async function deleteReference(d: ManifestDeleter, name: string, ref: ManifestReference): Promise<Digest> {
  await checkDelete(gcSettingsOf(d.settings), d.storage.manifests, name, ref);
  if (ref.tag !== undefined) {
    const digest = await d.repositories.deleteTag(name, ref.tag);
    d.events.emit({ action: "delete", repository: name, digest: digest.toString(), tag: ref.tag });
    return digest;
  }
  await contentCache.forgetManifest(name, ref.digest);
  await d.repositories.deleteManifest(name, ref.digest);
  await contentCache.forgetManifest(name, ref.digest);
  d.events.emit({ action: "delete", repository: name, digest: ref.digest.toString() });
  return ref.digest;
}
