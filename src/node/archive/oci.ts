/** OCI and Docker image JSON shapes, media types, blob paths and platform matching. */
import type { Descriptor, Platform } from "../../client/registry";

export type { Descriptor, Platform };

export const MT = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
} as const;

export const INDEX_TYPES = new Set<string>([MT.ociIndex, MT.dockerList]);
export const IMAGE_TYPES = new Set<string>([MT.ociManifest, MT.dockerManifest]);

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  rootfs?: { type: string; diff_ids: string[] };
  [k: string]: unknown;
}

export const REF_NAME = "org.opencontainers.image.ref.name";
export const CONTAINERD_NAME = "io.containerd.image.name";

/** "blobs/<alg>/<hex>" */
export function blobPath(digest: string): string {
  const [alg, hex] = digest.split(":");
  if (!alg || !hex || !/^[a-z0-9]+$/.test(alg) || !/^[a-f0-9]+$/.test(hex)) throw new Error(`bad digest ${digest}`);
  return `blobs/${alg}/${hex}`;
}

export function parseJson<T>(bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8")) as T;
  } catch (e) {
    throw new Error(`${what}: not valid JSON (${(e as Error).message})`);
  }
}

export function mediaTypeOf(bytes: Uint8Array, fallback = ""): string {
  try {
    const m = JSON.parse(Buffer.from(bytes).toString("utf8")) as { mediaType?: string; manifests?: unknown };
    return m.mediaType ?? (m.manifests ? MT.ociIndex : fallback || MT.ociManifest);
  } catch {
    return fallback;
  }
}

export function isGzipLayer(mediaType: string): boolean {
  return mediaType.endsWith("+gzip") || mediaType === MT.dockerLayerGzip || mediaType.endsWith(".tar.gzip");
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
