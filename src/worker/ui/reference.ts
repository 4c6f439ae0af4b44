/**
 * UI paths name images the way docker does: /r/<name> (its tags), /r/<name>:<tag> and
 * /r/<name>@<digest> (one manifest), each with an optional /delete (the confirmation step). Names
 * never contain ":" or "@", so the split is unambiguous.
 */
import { type Digest, parseDigest, parseName, parseTag } from "../../oci/grammar";
import { RegistryError } from "../errors";
import { href } from "./html";

export interface UiRef {
  name: string;
  tag?: string;
  digest?: Digest;
  /** The path ended in /delete. */
  delete: boolean;
}

export function parseUiRef(rest: string): UiRef {
  let path = rest.replace(/\/+$/, "");
  let del = false;
  if (path.endsWith("/delete") && /[@:]/.test(path)) {
    del = true;
    path = path.slice(0, -"/delete".length);
  }
  const at = path.indexOf("@");
  const colon = path.indexOf(":");
  const notFound = () => new RegistryError("NAME_UNKNOWN", "no such repository or image");
  try {
    if (at >= 0) return { name: parseName(path.slice(0, at)), digest: parseDigest(path.slice(at + 1)), delete: del };
    if (colon >= 0) return { name: parseName(path.slice(0, colon)), tag: parseTag(path.slice(colon + 1)), delete: del };
    return { name: parseName(path), delete: false };
  } catch {
    throw notFound();
  }
}

export const repoHref = (name: string) => href(["/r/", { name }]);
export const tagHref = (name: string, tag: string) => href(["/r/", { name }, ":", tag]);
export const digestHref = (name: string, digest: string) => href(["/r/", { name }, "@", digest]);
