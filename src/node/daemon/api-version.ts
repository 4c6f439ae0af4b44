/**
 * Engine API version negotiation. The docker CLI asks `/_ping` first and reads its `API-Version`
 * header, then sends every request under `/v<version>/` (the lower of its own and the server's).
 * Requests without a prefix mean the server's version. A version above ours or below the minimum is
 * refused with 400, in dockerd's words.
 */
import { DaemonError } from "./errors";

/** What the store mode implements (the shapes of Docker 24's API; docker CLI 28 downgrades to it). */
export const API_VERSION = "1.43";
export const MIN_API_VERSION = "1.24";

export function compareVersions(a: string, b: string): number {
  const [am, an] = a.split(".").map(Number);
  const [bm, bn] = b.split(".").map(Number);
  return am - bm || an - bn;
}

export interface VersionedPath {
  /** The path without its /v1.xx prefix. */
  path: string;
  /** The version asked for (ours when the request had no prefix). */
  version: string;
}

const PREFIX = /^\/v(\d+\.\d+)(\/.*)$/;

/** Split off the version prefix (no checks: front mode passes every version through). */
export function splitVersion(pathname: string, fallback = API_VERSION): VersionedPath {
  const m = PREFIX.exec(pathname);
  return m ? { version: m[1], path: m[2] } : { version: fallback, path: pathname };
}

/** Split off and check the version prefix against what the store mode serves. */
export function negotiate(pathname: string): VersionedPath {
  const v = splitVersion(pathname);
  if (compareVersions(v.version, API_VERSION) > 0) {
    throw new DaemonError(400, `client version ${v.version} is too new. Maximum supported API version is ${API_VERSION}`);
  }
  if (compareVersions(v.version, MIN_API_VERSION) < 0) {
    throw new DaemonError(400, `client version ${v.version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
  }
  return v;
}

/** Headers of `/_ping` (and of every answer, as dockerd sends them). */
export function pingHeaders(): Record<string, string> {
  return {
    "API-Version": API_VERSION,
    "Docker-Experimental": "false",
    OSType: "linux",
    "Cache-Control": "no-cache, no-store, must-revalidate",
    Pragma: "no-cache",
  };
}
