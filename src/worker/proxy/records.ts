/**
 * What the pull-through cache remembers beside the cached content itself (keys in storage/paths.ts):
 * when each tag was last checked upstream, the upstream's tag list, and when each cached manifest was last
 * pulled (for garbage collection). Small R2 objects; no HTTP here.
 */
import { type Digest, parseDigest } from "../../oci/grammar";
import { paths } from "../storage/paths";

export interface TagCheck {
  digest: Digest;
  checkedAt: number;
}

/** A pull is recorded at most this often per manifest and isolate (R2 writes cost; GC needs days, not seconds). */
export const PULL_RECORD_INTERVAL_MS = 3600_000;
const recentPulls = new Map<string, number>();

export class ProxyRecords {
  constructor(private readonly bucket: R2Bucket) {}

  async tagCheck(repo: string, tag: string): Promise<TagCheck | null> {
    const obj = await this.bucket.head(paths.proxyTag(repo, tag));
    const m = obj?.customMetadata;
    if (!m?.digest || !m.checkedAt) return null;
    return { digest: parseDigest(m.digest), checkedAt: Number(m.checkedAt) };
  }

  async markTagChecked(repo: string, tag: string, digest: Digest, at = Date.now()): Promise<void> {
    await this.bucket.put(paths.proxyTag(repo, tag), "", { customMetadata: { digest: digest.toString(), checkedAt: String(at) } });
  }

  async tagList(repo: string): Promise<{ tags: string[]; checkedAt: number } | null> {
    const obj = await this.bucket.get(paths.proxyTagList(repo));
    if (!obj) return null;
    return { tags: (await obj.json()) as string[], checkedAt: Number(obj.customMetadata?.checkedAt ?? 0) };
  }

  async putTagList(repo: string, tags: string[], at = Date.now()): Promise<void> {
    await this.bucket.put(paths.proxyTagList(repo), JSON.stringify(tags), { customMetadata: { checkedAt: String(at) } });
  }

  /** Record that a cached manifest was pulled now (throttled per isolate, see PULL_RECORD_INTERVAL_MS). */
  async recordPull(repo: string, digest: Digest, now = Date.now()): Promise<boolean> {
    const key = paths.proxyPulled(repo, digest);
    const last = recentPulls.get(key);
    if (last !== undefined && now - last < PULL_RECORD_INTERVAL_MS) return false;
    if (recentPulls.size > 10_000) recentPulls.clear();
    recentPulls.set(key, now);
    await this.bucket.put(key, "", { customMetadata: { pulledAt: String(now) } });
    return true;
  }

  async lastPull(repo: string, digest: Digest): Promise<number | null> {
    const obj = await this.bucket.head(paths.proxyPulled(repo, digest));
    return obj?.customMetadata?.pulledAt ? Number(obj.customMetadata.pulledAt) : null;
  }
}
