/** The registry storage API in one value: what handlers and the upload session are given. */
import { BlobStore } from "./blobs";
import { CatalogStore } from "./catalog";
import { ManifestStore } from "./manifests";
import { ReferrerStore } from "./referrers";
import { SummaryStore } from "./summaries";

export interface RegistryStorage {
  blobs: BlobStore;
  manifests: ManifestStore;
  referrers: ReferrerStore;
  catalog: CatalogStore;
  /** Read them here; only the repository's Durable Object writes them. */
  summaries: SummaryStore;
}

export function openStorage(bucket: R2Bucket): RegistryStorage {
  return {
    blobs: new BlobStore(bucket),
    manifests: new ManifestStore(bucket),
    referrers: new ReferrerStore(bucket),
    catalog: new CatalogStore(bucket),
    summaries: new SummaryStore(bucket),
  };
}
