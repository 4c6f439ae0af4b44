/**
 * `docker save` archives: reading what is in one, and writing one that `docker load` accepts.
 *
 * Read: both forms Docker has written. Classic (Docker ≤ 24): `manifest.json`, `repositories`,
 * `<config-hex>.json` and `<layer-id>/layer.tar` (identical layers as symlinks); OCI-inside
 * (Docker ≥ 25): the same `manifest.json` whose paths point into an OCI layout, `blobs/sha256/<hex>`.
 * Either way `manifest.json` names the config and the layer files of each image, in order.
 *
 * Write: the Docker ≥ 25 form, which is at once a docker archive (manifest.json, repositories) and an OCI
 * layout (oci-layout, index.json, blobs). Layers are stored uncompressed, named by their diff_id, as
 * Docker does; a layer is decompressed while it streams in and its header patched once its digest is
 * known (tar.ts), so nothing is held in memory or staged in a temp file.
 */
import { createHash } from "node:crypto";
import { pipeline, Readable, Transform } from "node:stream";
import { createGunzip } from "node:zlib";
import type { FileSource } from "./files";
import { blobPath, CONTAINERD_NAME, type Descriptor, type ImageConfig, isGzipLayer, parseJson, REF_NAME } from "./oci";
import { MediaTypes } from "../../oci/media-types";
import { TarFileWriter } from "./tar";

export interface DockerArchiveEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

export function isDockerArchive(src: FileSource): boolean {
  return src.has("manifest.json");
}

export async function readDockerManifest(src: FileSource): Promise<DockerArchiveEntry[]> {
  const list = parseJson<DockerArchiveEntry[]>(await src.read("manifest.json"), `${src.path}: manifest.json`);
  if (!Array.isArray(list) || list.length === 0) throw new Error(`${src.path}: manifest.json lists no images`);
  for (const e of list) {
    if (typeof e.Config !== "string" || !Array.isArray(e.Layers)) throw new Error(`${src.path}: manifest.json entry without Config or Layers`);
    for (const p of [e.Config, ...e.Layers]) if (!src.has(p)) throw new Error(`${src.path}: manifest.json names ${p}, which is not in the archive`);
  }
  return list;
}

/** Counts bytes and hashes them as they pass. */
export class HashingPassThrough extends Transform {
  private h = createHash("sha256");
  private done = "";
  size = 0;
  constructor() {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: () => void) {
    this.h.update(chunk);
    this.size += chunk.length;
    this.push(chunk);
    cb();
  }
  /** The digest of everything that passed (call after the stream ended). */
  digest(): string {
    if (!this.done) this.done = `sha256:${this.h.digest("hex")}`;
    return this.done;
  }
}

export interface ImageToWrite {
  /** "host/repo:tag" names for RepoTags (may be empty). */
  repoTags: string[];
  config: Uint8Array;
  configDigest: string;
  /** Layers in order, as stored in the registry (compressed or not). */
  layers: { descriptor: Descriptor; open: () => Promise<NodeJS.ReadableStream | AsyncIterable<Uint8Array>> }[];
  onLayer?: (i: number, event: "start" | "done", bytes?: number) => void;
  onBytes?: (i: number, compressedBytes: number) => void;
}

/** Writes a Docker-loadable archive (Docker ≥ 25 layout, see the header) to a file. */
export class DockerArchiveWriter {
  private written = new Set<string>();
  private manifest: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
  private index: Descriptor[] = [];
  private repositories: Record<string, Record<string, string>> = {};

  private constructor(private tar: TarFileWriter) {}

  static async create(path: string): Promise<DockerArchiveWriter> {
    const w = new DockerArchiveWriter(await TarFileWriter.create(path));
    await w.tar.addDir("blobs");
    await w.tar.addDir("blobs/sha256");
    return w;
  }

  private async addBlob(digest: string, bytes: Uint8Array): Promise<void> {
    if (this.written.has(digest)) return;
    this.written.add(digest);
    await this.tar.addBuffer(blobPath(digest), bytes);
  }

  async addImage(img: ImageToWrite): Promise<void> {
    const config = parseJson<ImageConfig>(img.config, "image config");
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== img.layers.length) {
      throw new Error(`image config lists ${diffIds.length} diff_ids for ${img.layers.length} layers`);
    }
    await this.addBlob(img.configDigest, img.config);
    const layerDescs: Descriptor[] = [];
    for (const [i, layer] of img.layers.entries()) {
      const diffId = diffIds[i];
      img.onLayer?.(i, "start");
      if (!this.written.has(diffId)) {
        await this.writeLayer(layer.descriptor, await layer.open(), diffId, (n) => img.onBytes?.(i, n));
        this.written.add(diffId);
      }
      layerDescs.push({ mediaType: MediaTypes.ociLayer, digest: diffId, size: this.layerSizes.get(diffId)! });
      img.onLayer?.(i, "done", layer.descriptor.size);
    }
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest: img.configDigest, size: img.config.byteLength },
      layers: layerDescs,
    }));
    const manifestDigest = `sha256:${createHash("sha256").update(manifest).digest("hex")}`;
    await this.addBlob(manifestDigest, manifest);
    const annotations: Record<string, string> = {};
    const first = img.repoTags[0];
    if (first) {
      annotations[CONTAINERD_NAME] = first;
      annotations[REF_NAME] = first.slice(first.lastIndexOf(":") + 1);
    }
    this.index.push({ mediaType: MediaTypes.ociManifest, digest: manifestDigest, size: manifest.byteLength, ...(first ? { annotations } : {}) });
    this.manifest.push({ Config: blobPath(img.configDigest), RepoTags: img.repoTags, Layers: layerDescs.map((d) => blobPath(d.digest)) });
    for (const rt of img.repoTags) {
      const colon = rt.lastIndexOf(":");
      (this.repositories[rt.slice(0, colon)] ??= {})[rt.slice(colon + 1)] = diffIds[diffIds.length - 1]?.split(":")[1] ?? "";
    }
  }

  private layerSizes = new Map<string, number>();

  /** Stream one layer in, decompressing it, and name its entry by the digest of what was written. */
  private async writeLayer(desc: Descriptor, input: NodeJS.ReadableStream | AsyncIterable<Uint8Array>, diffId: string, onBytes: (n: number) => void): Promise<void> {
    const compressed = new HashingPassThrough();
    const plain = new HashingPassThrough();
    let counted = 0;
    compressed.on("data", (c: Buffer) => onBytes((counted += c.length)));
    const source = (async function* () {
      for await (const c of input as AsyncIterable<Uint8Array>) yield c;
    })();
    const stages: NodeJS.ReadWriteStream[] = [compressed];
    if (isGzipLayer(desc.mediaType)) stages.push(createGunzip());
    else if (desc.mediaType.endsWith("+zstd")) throw new Error(`layer ${desc.digest} is zstd-compressed, which this tool cannot unpack for a docker archive; pull with --format oci`);
    stages.push(plain);
    const piped = pipeline(Readable.from(source), ...(stages as [NodeJS.ReadWriteStream]), () => {});
    const size = await this.tar.addStream(piped as unknown as AsyncIterable<Uint8Array>, () => {
      if (compressed.size !== desc.size || compressed.digest() !== desc.digest) {
        throw new Error(`layer ${desc.digest}: downloaded ${compressed.size} bytes with digest ${compressed.digest()}`);
      }
      if (plain.digest() !== diffId) throw new Error(`layer ${desc.digest}: uncompressed digest ${plain.digest()} does not match config diff_id ${diffId}`);
      return blobPath(diffId);
    });
    this.layerSizes.set(diffId, size);
  }

  async finish(): Promise<void> {
    await this.tar.addBuffer("index.json", JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: this.index }));
    await this.tar.addBuffer("manifest.json", JSON.stringify(this.manifest));
    await this.tar.addBuffer("oci-layout", JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    await this.tar.addBuffer("repositories", JSON.stringify(this.repositories));
    await this.tar.close();
  }

  async abort(): Promise<void> {
    await this.tar.abort();
  }
}
