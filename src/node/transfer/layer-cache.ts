/**
 * Which compressed blob a docker-archive layer became on earlier pushes, so a push can skip or mount
 * it without compressing it again (Docker keeps the same "v2 metadata" for the same reason).
 *
 * A JSON file, by default $XDG_CACHE_HOME/wharf/layers.json (~/.cache/wharf/layers.json; $WHARF_CACHE_DIR
 * overrides the folder): diff_id → the compressed digest, its size and media type, and the
 * "host/repository"s it was pushed to. Only a hint: every use is checked against the registry (HEAD or
 * mount), and a broken or missing file is an empty cache.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

export interface CachedLayer {
  digest: string;
  size: number;
  mediaType: string;
  repos: string[];
}

const MAX_REPOS = 20;

export function defaultLayerCachePath(): string {
  const base = process.env.WHARF_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "wharf");
  return join(base, "layers.json");
}

export class LayerCache {
  private entries: Record<string, CachedLayer>;

  constructor(private path: string | null) {
    this.entries = {};
    if (path && existsSync(path)) {
      try {
        this.entries = JSON.parse(readFileSync(path, "utf8")) as Record<string, CachedLayer>;
      } catch {
        this.entries = {};
      }
    }
  }

  get(diffId: string): CachedLayer | undefined {
    return this.entries[diffId];
  }

  record(diffId: string, blob: Omit<CachedLayer, "repos">, hostRepo: string): void {
    const prev = this.entries[diffId];
    const repos = prev && prev.digest === blob.digest ? prev.repos.filter((r) => r !== hostRepo) : [];
    this.entries[diffId] = { ...blob, repos: [hostRepo, ...repos].slice(0, MAX_REPOS) };
  }

  save(): void {
    if (!this.path) return;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(this.entries));
      renameSync(tmp, this.path);
    } catch {
      // a cache that cannot be written only costs the next push some work
    }
  }
}
