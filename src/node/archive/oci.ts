/**
 * Archive-side helpers: blob paths in a layout, JSON reading, layer compression and platform matching.
 * The image shapes and media types themselves are the shared vocabulary in src/oci.
 */
import type { Descriptor, ImageIndex, Platform } from "../../oci/descriptor";
import { isWellFormedDigest } from "../../oci/grammar";
import { MediaTypes } from "../../oci/media-types";

export type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from "../../oci/descriptor";
export { CONTAINERD_NAME, REF_NAME } from "../../oci/descriptor";
export { INDEX_TYPES } from "../../oci/media-types";

/** "blobs/<alg>/<hex>" */
export function blobPath(digest: string): string {
  const [alg, hex] = digest.split(":");
  if (!isWellFormedDigest(digest) || !/^[a-f0-9]+$/.test(hex)) throw new Error(`bad digest ${digest}`);
  return `blobs/${alg}/${hex}`;
}

export function parseJson<T>(bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8")) as T;
  } catch (e) {
    throw new Error(`${what}: not valid JSON (${(e as Error).message})`);
  }
}

export function isGzipLayer(mediaType: string): boolean {
  return mediaType.endsWith("+gzip") || mediaType === MediaTypes.dockerLayerGzip || mediaType.endsWith(".tar.gzip");
}

/** "os/arch[/variant]" → Platform; "all" → null. */
export function parsePlatform(s: string): Platform | null {
  if (s === "all") return null;
  const [os, architecture, variant] = s.split("/");
  if (!os || !architecture) throw new Error(`--platform ${s}: expected os/arch[/variant], like linux/amd64`);
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** This machine's platform in OCI terms (x64 → amd64). */
export function hostPlatform(): Platform {
  const arch: Record<string, [string, string?]> = { x64: ["amd64"], arm64: ["arm64", "v8"], arm: ["arm", "v7"], ia32: ["386"], ppc64: ["ppc64le"], s390x: ["s390x"], riscv64: ["riscv64"] };
  const [architecture, variant] = arch[process.arch] ?? [process.arch];
  return { os: process.platform === "win32" ? "windows" : "linux", architecture, ...(variant ? { variant } : {}) };
}

export function formatPlatform(p?: Platform): string {
  return p ? `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}` : "unknown";
}

/** Pick the index entry for a platform (variant compared only when both sides name one). */
export function choosePlatform(index: ImageIndex, want: Platform): Descriptor {
  const candidates = index.manifests.filter(
    (d) => d.platform && d.platform.os === want.os && d.platform.architecture === want.architecture,
  );
  const exact = candidates.find((d) => !want.variant || !d.platform!.variant || d.platform!.variant === want.variant);
  if (exact) return exact;
  const offered = index.manifests.map((d) => formatPlatform(d.platform)).join(", ");
  throw new Error(`no image for platform ${formatPlatform(want)} (the index has: ${offered}); choose one with --platform`);
}
