/**
 * The JSON shapes the Engine API answers about images (`GET /images/json`, `/images/{name}/json`,
 * `/images/{name}/history`), made from a stored manifest and config. Sizes are the layers' sizes as
 * stored (compressed, as in the registry): the store never unpacks layers, so it cannot report the
 * unpacked size dockerd shows.
 */
import type { HistoryEntry, StoredImage } from "./image-store";

const seconds = (iso?: string) => (iso ? Math.floor(Date.parse(iso) / 1000) || 0 : 0);

export function imageSize(img: StoredImage): number {
  return (img.manifest.layers ?? []).reduce((s, l) => s + l.size, 0);
}

export function imageSummary(img: StoredImage, version: string) {
  const size = imageSize(img);
  return {
    Id: img.id,
    ParentId: "",
    RepoTags: img.repoTags,
    RepoDigests: img.repoDigests,
    Created: seconds(img.config.created),
    Size: size,
    SharedSize: -1,
    ...(Number(version.split(".")[1]) < 44 ? { VirtualSize: size } : {}),
    Labels: (img.config.config?.Labels as Record<string, string> | null | undefined) ?? {},
    Containers: -1,
  };
}

export function imageInspect(img: StoredImage, lastTagTime: string | undefined) {
  const c = img.config;
  return {
    Id: img.id,
    RepoTags: img.repoTags,
    RepoDigests: img.repoDigests,
    Parent: "",
    Comment: c.comment ?? "",
    Created: c.created ?? "",
    DockerVersion: c.docker_version ?? "",
    Author: c.author ?? "",
    Config: c.config ?? null,
    Architecture: c.architecture ?? "",
    Variant: c.variant,
    Os: c.os ?? "",
    Size: imageSize(img),
    VirtualSize: imageSize(img),
    GraphDriver: { Name: "wharf", Data: { ManifestDigest: img.manifestDigest, MediaType: img.mediaType } },
    RootFS: { Type: c.rootfs?.type ?? "layers", Layers: c.rootfs?.diff_ids ?? [] },
    Metadata: { LastTagTime: lastTagTime ?? "0001-01-01T00:00:00Z" },
  };
}

/** Newest first, as `docker history` prints it; layer sizes matched to the history's non-empty entries. */
export function imageHistory(img: StoredImage) {
  const layers = img.manifest.layers ?? [];
  const history: HistoryEntry[] = img.config.history?.length ? img.config.history : layers.map(() => ({}));
  let layer = 0;
  const rows = history.map((h) => {
    const size = h.empty_layer ? 0 : (layers[layer++]?.size ?? 0);
    return { Id: "<missing>", Created: seconds(h.created), CreatedBy: h.created_by ?? "", Tags: null as string[] | null, Size: size, Comment: h.comment ?? "" };
  });
  rows.reverse();
  if (rows.length) {
    rows[0].Id = img.id;
    rows[0].Tags = img.repoTags;
  }
  return rows;
}
