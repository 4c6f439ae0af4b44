/** Every media type Wharf, its client, the archives and the CLI name, spelled once. */
export const MediaTypes = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  /** The short-lived OCI 1.1 draft artifact manifest: accepted on pull, never produced. */
  ociArtifactManifest: "application/vnd.oci.artifact.manifest.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  dockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  dockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
  ociNondistributableLayer: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  ociNondistributableLayerGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  ociNondistributableLayerZstd: "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  /** distribution's notification envelope (webhooks). */
  dockerEvents: "application/vnd.docker.distribution.events.v2+json",
} as const;

export const IMAGE_MANIFEST_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociManifest, MediaTypes.dockerManifest]);
export const INDEX_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociIndex, MediaTypes.dockerManifestList]);

/** What a client accepts when it asks for a manifest, best first. */
export const MANIFEST_ACCEPT_TYPES: readonly string[] = [
  MediaTypes.ociIndex,
  MediaTypes.ociManifest,
  MediaTypes.dockerManifestList,
  MediaTypes.dockerManifest,
  MediaTypes.ociArtifactManifest,
];

/** Layers that are deliberately not pushed to registries (they carry `urls`). */
export const FOREIGN_LAYER_TYPES: ReadonlySet<string> = new Set([
  MediaTypes.dockerForeignLayerGzip,
  MediaTypes.ociNondistributableLayer,
  MediaTypes.ociNondistributableLayerGzip,
  MediaTypes.ociNondistributableLayerZstd,
]);

/** "type/subtype; params" → "type/subtype" */
export function baseMediaType(contentType: string | null): string {
  return (contentType ?? "").split(";")[0].trim();
}
