/** The repository catalog: one marker object per repository that has had a manifest pushed. */
import { listNames, type Page } from "./listing";
import { paths } from "./paths";

export class CatalogStore {
  constructor(private readonly bucket: R2Bucket) {}

  async add(name: string): Promise<void> {
    const key = paths.catalogEntry(name);
    if (!(await this.bucket.head(key))) await this.bucket.put(key, "");
  }

  async has(name: string): Promise<boolean> {
    return (await this.bucket.head(paths.catalogEntry(name))) !== null;
  }

  async list(n: number, last?: string): Promise<Page> {
    return listNames(this.bucket, paths.catalogPrefix(), n, last);
  }
}
