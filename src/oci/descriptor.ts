/** The OCI image JSON shapes shared by the client, the archives and the CLI: descriptors, platforms, manifests, indexes. */

export interface Descriptor {
  mediaType: string;
  /** "algorithm:hex" */
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Platform;
  urls?: string[];
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  "os.version"?: string;
}

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

/** The annotation that names an image in an OCI layout's index.json. */
export const REF_NAME = "org.opencontainers.image.ref.name";
/** The annotation containerd (and `docker save`) put on it. */
export const CONTAINERD_NAME = "io.containerd.image.name";
