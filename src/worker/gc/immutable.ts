/**
 * Immutable tags (IMMUTABLE_TAGS): once pushed, a tag matching a rule cannot be moved or deleted by
 * anyone (DomainError TAG_IMMUTABLE: 409, wire code DENIED), and retention leaves it alone (policy.ts).
 * Pushing the same manifest to it again is allowed (it changes nothing). Deleting a manifest by digest
 * that an immutable tag points at is refused too, since it would delete the tag.
 * The check here (checkTagMove) answers the common refusal early, outside the repository's Durable Object;
 * what decides a race of two first pushes is the object's create-only write of the tag (ManifestStore.put
 * with `{ immutable: true }`: a conditional put, `etagDoesNotMatch: "*"`), so exactly one of them wins and
 * the other is refused with the same TAG_IMMUTABLE.
 */
import { DomainError } from "../domain-errors";
import type { Digest } from "../../oci/grammar";
import { immutableTagTaken, type ManifestStore } from "../storage/manifests";
import { isImmutable } from "./policy";
import type { GcSettings } from "./settings";

export function tagIsImmutable(settings: GcSettings, repo: string, tag: string): boolean {
  return isImmutable(settings.immutable, repo, tag);
}

export function immutableError(repo: string, tag: string, what: string): DomainError {
  return new DomainError("TAG_IMMUTABLE", `tag ${tag} of ${repo} is immutable (IMMUTABLE_TAGS): it cannot be ${what}`, { detail: { repository: repo, tag } });
}

/** Before moving `tag` to `digest`: refused when the tag is immutable and points elsewhere. */
export async function checkTagMove(settings: GcSettings, store: ManifestStore, repo: string, tag: string, digest: Digest): Promise<void> {
  if (!tagIsImmutable(settings, repo, tag)) return;
  const current = await store.resolveTag(repo, tag);
  if (current && current.toString() !== digest.toString()) throw immutableTagTaken(repo, tag, current);
}

/** Before a delete by tag or by digest. */
export async function checkDelete(settings: GcSettings, store: ManifestStore, repo: string, ref: { tag?: string; digest?: Digest }): Promise<void> {
  if (!settings.immutable.length) return;
  if (ref.tag !== undefined) {
    if (tagIsImmutable(settings, repo, ref.tag)) throw immutableError(repo, ref.tag, "deleted");
    return;
  }
  for (const tag of await store.tagsOf(repo, ref.digest!)) {
    if (tagIsImmutable(settings, repo, tag)) throw immutableError(repo, tag, `deleted (by deleting ${ref.digest})`);
  }
}
