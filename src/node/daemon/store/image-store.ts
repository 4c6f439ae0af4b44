/**
 * The daemon's own image store (`wharf daemon --data-root DIR`): images on disk, content-addressed.
 *
 * ```
 * DIR/blobs/sha256/<hex>   manifests, configs and layers, byte for byte as the registry has them
 *                          (layers compressed); written through the OCI layout writer, which checks
 *                          size and digest and renames into place (archive/oci-layout.ts)
 * DIR/refs.json            names → manifest digests, and what docker shows beside them:
 *                            tags     "repo:tag" → manifest digest          (RepoTags)
 *                            digests  "repo@sha256:…" → manifest digest     (RepoDigests: pulled or pushed)
 *                            tagged   "repo:tag" → when it was tagged       (Metadata.LastTagTime)
 *                            diffs    diff_id → its compressed layer blob   (docker load reuses it)
 * DIR/tmp/                 archives being loaded or saved, layers being compressed
 * ```
 *
 * An image is one image manifest (one platform); its ID is its config's digest, as in Docker.
 * Concurrency: one daemon process per DIR. refs.json changes only inside `update` (one at a time, each
 * written to a temporary file and renamed). Blobs are written before the refs that name them; `gc`
 * (after a removal) deletes blobs that no ref reaches and is skipped while any pull or load is writing
 * (`writing` counter), so it never deletes a blob that is about to be referenced.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createWriteStream } from "node:fs";
import { type FileSource, openFileSource } from "../../archive/files";
import { blobPath, type Descriptor, type ImageConfig, type ImageManifest, parseJson } from "../../archive/oci";
import { IMAGE_MANIFEST_TYPES as IMAGE_TYPES, MediaTypes as MT } from "../../../oci/media-types";
import { createOciDirWriter, type OciLayoutWriter } from "../../archive/oci-layout";
import { type ContentStore, layoutStore } from "../../transfer/store";
import { formatLocal, type LocalName, parseLocalName } from "../refs";

export interface Refs {
  tags: Record<string, string>;
  digests: Record<string, string>;
  tagged: Record<string, string>;
  diffs: Record<string, Descriptor>;
}

export interface StoredImage {
  manifestDigest: string;
  manifestSize: number;
  mediaType: string;
  manifest: ImageManifest;
  /** Image ID: the config's digest. */
  id: string;
  config: ImageConfig & { created?: string; author?: string; comment?: string; config?: Record<string, unknown>; history?: HistoryEntry[]; docker_version?: string };
  repoTags: string[];
  repoDigests: string[];
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  comment?: string;
  author?: string;
  empty_layer?: boolean;
}

const emptyRefs = (): Refs => ({ tags: {}, digests: {}, tagged: {}, diffs: {} });

export class ImageStore {
  private refsData: Refs = emptyRefs();
  private queue: Promise<unknown> = Promise.resolve();
  private writerP: Promise<OciLayoutWriter> | null = null;
  /** Pulls and loads in progress (gc waits for none). */
  private writing = 0;

  private constructor(readonly root: string) {}

  static async open(root: string): Promise<ImageStore> {
    const s = new ImageStore(root);
    await mkdir(join(root, "blobs", "sha256"), { recursive: true });
    await rm(join(root, "tmp"), { recursive: true, force: true });
    await mkdir(join(root, "tmp"), { recursive: true });
    const file = join(root, "refs.json");
    if (existsSync(file)) s.refsData = { ...emptyRefs(), ...parseJson<Partial<Refs>>(await readFile(file), file) };
    return s;
  }

  get refs(): Readonly<Refs> {
    return this.refsData;
  }

  blobFile(digest: string): string {
    return join(this.root, blobPath(digest));
  }

  has(digest: string): boolean {
    return existsSync(this.blobFile(digest));
  }

  readBlob(digest: string): Promise<Buffer> {
    return readFile(this.blobFile(digest));
  }

  openBlob(digest: string): Readable {
    return createReadStream(this.blobFile(digest));
  }

  tmpPath(name: string): string {
    return join(this.root, "tmp", `${name}-${process.pid}-${Math.random().toString(36).slice(2)}`);
  }

  /** The OCI layout writer over DIR/blobs (shared, so concurrent writers of one digest write it once). */
  writer(): Promise<OciLayoutWriter> {
    return (this.writerP ??= createOciDirWriter(this.root));
  }

  /** The store as a content store that pushes read from (transfer/push-graph.ts). */
  async contentStore(): Promise<ContentStore> {
    const src: FileSource = await openFileSource(this.root);
    const base = layoutStore(src);
    // Blobs can be mounted from the repositories of that registry this store pulled from or pushed to.
    const repos = (host: string) => [...new Set(Object.keys(this.refsData.digests)
      .filter((k) => k.startsWith(`${host}/`))
      .map((k) => k.slice(host.length + 1, k.indexOf("@"))))];
    return { ...base, mountFrom: repos };
  }

  async putBytes(bytes: Uint8Array): Promise<Descriptor> {
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    const desc = { mediaType: "", digest, size: bytes.byteLength };
    await (await this.writer()).writeBytes(desc, bytes);
    return desc;
  }

  /** Stream bytes into a blob (digest computed on the way); returns its digest and size. */
  async ingest(input: Readable | AsyncIterable<Uint8Array>): Promise<{ digest: string; size: number }> {
    const tmp = this.tmpPath("blob");
    const h = createHash("sha256");
    let size = 0;
    const hashed = (async function* () {
      for await (const c of input as AsyncIterable<Uint8Array>) {
        h.update(c);
        size += c.byteLength;
        yield c;
      }
    })();
    try {
      await pipeline(hashed, createWriteStream(tmp));
      const digest = `sha256:${h.digest("hex")}`;
      if (this.has(digest)) await rm(tmp, { force: true });
      else await rename(tmp, this.blobFile(digest));
      return { digest, size };
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  /** Run `fn` while pulling or loading: gc does not run meanwhile. */
  async writingBlobs<T>(fn: () => Promise<T>): Promise<T> {
    this.writing++;
    try {
      return await fn();
    } finally {
      this.writing--;
    }
  }

  /** Change the refs, one change at a time, and persist them. */
  update<T>(fn: (refs: Refs) => T | Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      const next: Refs = structuredClone(this.refsData);
      const out = await fn(next);
      const file = join(this.root, "refs.json");
      const tmp = `${file}.tmp-${process.pid}`;
      await writeFile(tmp, `${JSON.stringify(next, null, 1)}\n`);
      await rename(tmp, file);
      this.refsData = next;
      return out;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async image(manifestDigest: string): Promise<StoredImage> {
    const bytes = await this.readBlob(manifestDigest);
    const manifest = parseJson<ImageManifest>(bytes, `manifest ${manifestDigest}`);
    const config = parseJson<StoredImage["config"]>(await this.readBlob(manifest.config.digest), `config ${manifest.config.digest}`);
    const r = this.refsData;
    return {
      manifestDigest,
      manifestSize: bytes.byteLength,
      mediaType: manifest.mediaType ?? MT.ociManifest,
      manifest,
      id: manifest.config.digest,
      config,
      repoTags: Object.keys(r.tags).filter((t) => r.tags[t] === manifestDigest).sort(),
      repoDigests: Object.keys(r.digests).filter((d) => r.digests[d] === manifestDigest && !d.startsWith("<none>")).sort(),
    };
  }

  /** Every image (one per manifest named by a tag or a digest). */
  async list(): Promise<StoredImage[]> {
    const digests = new Set([...Object.values(this.refsData.tags), ...Object.values(this.refsData.digests)]);
    const out: StoredImage[] = [];
    for (const d of digests) if (this.has(d)) out.push(await this.image(d));
    return out;
  }

  /**
   * The image a name points at, as dockerd resolves it: a tag (`repo` meaning `repo:latest`), a digest
   * reference (`repo@sha256:…`), or an image ID, full or an unambiguous prefix (`sha256:` optional).
   */
  async resolve(input: string): Promise<StoredImage | null> {
    let name: LocalName | null = null;
    try {
      name = parseLocalName(input);
    } catch {
      name = null;
    }
    if (name) {
      const key = formatLocal(name);
      const digest = name.digest ? (this.refsData.digests[key] ?? this.byDigest(name.digest)) : this.refsData.tags[key];
      if (digest && this.has(digest)) return this.image(digest);
    }
    const m = /^(?:sha256:)?([a-f0-9]{1,64})$/.exec(input);
    if (!m) return null;
    const matches = new Map<string, StoredImage>();
    for (const img of await this.list()) if (img.id.slice(7).startsWith(m[1])) matches.set(img.id, img);
    if (matches.size > 1) return null;
    return [...matches.values()][0] ?? null;
  }

  /** A manifest digest that any RepoDigest names (`repo@digest` pulled under another repository). */
  private byDigest(digest: string): string | undefined {
    return Object.values(this.refsData.digests).find((d) => d === digest);
  }

  /**
   * Delete blobs that no remaining manifest reaches, and diffs entries whose blob went. Skipped while a
   * pull or load is writing; the next removal collects what is left.
   */
  async gc(): Promise<number> {
    return this.update(async (refs) => {
      if (this.writing > 0) return 0;
      const keep = new Set<string>();
      for (const d of new Set([...Object.values(refs.tags), ...Object.values(refs.digests)])) {
        if (!this.has(d)) continue;
        keep.add(d);
        const m = parseJson<ImageManifest>(await this.readBlob(d), `manifest ${d}`);
        if (m.mediaType && !IMAGE_TYPES.has(m.mediaType)) continue;
        keep.add(m.config.digest);
        for (const l of m.layers ?? []) keep.add(l.digest);
      }
      let removed = 0;
      const dir = join(this.root, "blobs", "sha256");
      for (const hex of await readdir(dir)) {
        if (hex.includes(".") || keep.has(`sha256:${hex}`)) continue; // ".partial-…": a write in progress
        await rm(join(dir, hex), { force: true });
        removed++;
      }
      for (const [diff, desc] of Object.entries(refs.diffs)) if (!keep.has(desc.digest)) delete refs.diffs[diff];
      return removed;
    });
  }
}
