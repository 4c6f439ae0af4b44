/** The registry storage API in one value: what handlers and the upload session are given. */
import { BlobStore } from "./blobs";
import { CatalogStore } from "./catalog";
import { ManifestStore } from "./manifests";
import { ReferrerStore } from "./referrers";

export interface RegistryStorage {
  blobs: BlobStore;
  manifests: ManifestStore;
  referrers: ReferrerStore;
  catalog: CatalogStore;
}

export function openStorage(bucket: R2Bucket): RegistryStorage {
  return {
    blobs: new BlobStore(bucket),
    manifests: new ManifestStore(bucket),
    referrers: new ReferrerStore(bucket),
    catalog: new CatalogStore(bucket),
  };
}
