/**
 * Image names as the docker CLI sends them to the daemon: `[host[:port]/]repo[:tag][@digest]`. The store
 * keeps names as given (no `docker.io/library/` normalisation: Wharf has no default registry), so
 * `app` and `app:latest` are the same name while `127.0.0.1:8787/app` is another. Pushing and pulling
 * need a registry host in the name (client/reference.ts parses those).
 */
import { type ImageReference, parseImageReference, ImageReferenceError } from "../../client/reference";
import { badRequest } from "./errors";

export interface LocalName {
  /** "[host/]repo" */
  repository: string;
  tag?: string;
  digest?: string;
}

const REPO = /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function parseLocalName(input: string): LocalName {
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw badRequest(`invalid reference format: bad digest in "${input}"`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon !== -1 && !rest.slice(colon).includes("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw badRequest(`invalid reference format: bad tag in "${input}"`);
  }
  if (!REPO.test(rest)) throw badRequest(`invalid reference format: repository name must be lowercase ("${input}")`);
  return { repository: rest, tag, digest };
}

/** "repo:tag" (with "latest" when neither tag nor digest is given), or "repo@digest". */
export function formatLocal(n: LocalName): string {
  return n.digest ? `${n.repository}@${n.digest}` : `${n.repository}:${n.tag ?? "latest"}`;
}

/** The registry reference of a local name: it must name a registry host. */
export function registryRef(n: LocalName): ImageReference {
  try {
    return parseImageReference(n.digest ? `${n.repository}@${n.digest}` : `${n.repository}:${n.tag ?? "latest"}`);
  } catch (e) {
    if (e instanceof ImageReferenceError) {
      throw badRequest(`${n.repository}: name a registry, like 127.0.0.1:8787/${n.repository.split("/").pop()} (wharf daemon has no default registry)`);
    }
    throw e;
  }
}

/** The part of a docker name that is a registry host, if any (as docker recognises one). */
export function registryHostOf(repository: string): string | null {
  const slash = repository.indexOf("/");
  if (slash === -1) return null;
  const first = repository.slice(0, slash);
  return first.includes(".") || first.includes(":") || first === "localhost" ? first : null;
}
