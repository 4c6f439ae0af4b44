/**
 * Referrers: for each subject digest, one small object per manifest that names it as `subject`,
 * holding that manifest's descriptor. Listing a subject's referrers is a prefix list, so a page costs
 * work in proportion to the page.
 */
import type { Descriptor } from "../../oci/descriptor";
import { type Digest, parseDigest } from "../../oci/grammar";
import { listNames, type Page } from "./listing";
import { paths } from "./paths";

export interface ReferrerPage {
  descriptors: Descriptor[];
  /** The cursor to pass as `last` for the next page, when there is one. */
  next?: string;
}

export class ReferrerStore {
  constructor(private readonly bucket: R2Bucket) {}

  async add(name: string, subject: Digest, d: Descriptor): Promise<void> {
    await this.bucket.put(paths.referrer(name, subject, parseDigest(d.digest)), JSON.stringify(d));
  }

  async remove(name: string, subject: Digest, referrer: Digest): Promise<void> {
    await this.bucket.delete(paths.referrer(name, subject, referrer));
  }

  /**
   * Up to `n` descriptors after the cursor `last`. With an artifactType filter, keeps reading pages
   * until `n` matches are found or the list ends.
   */
  async list(name: string, subject: Digest, n: number, last?: string, artifactType?: string): Promise<ReferrerPage> {
    const prefix = paths.referrersPrefix(name, subject);
    const descriptors: Descriptor[] = [];
    let cursor = last;
    for (;;) {
      const page: Page = await listNames(this.bucket, prefix, n, cursor);
      const loaded = await Promise.all(
        page.names.map(async (suffix) => {
          const obj = await this.bucket.get(prefix + suffix);
          return obj ? ((await obj.json()) as Descriptor) : null;
        }),
      );
      for (let i = 0; i < loaded.length; i++) {
        const d = loaded[i];
        cursor = page.names[i];
        if (!d || (artifactType !== undefined && d.artifactType !== artifactType)) continue;
        descriptors.push(d);
        if (descriptors.length === n) {
          const more = i < loaded.length - 1 || page.more;
          return { descriptors, next: more ? cursor : undefined };
        }
      }
      if (!page.more) return { descriptors };
    }
  }
}
