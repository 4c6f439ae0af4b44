/**
 * OCI image layouts (https://github.com/opencontainers/image-spec/blob/main/image-layout.md), as a
 * directory or a tar: `oci-layout`, `index.json`, `blobs/<alg>/<hex>`.
 *
 * Reading goes through a FileSource (files.ts). Writing streams each blob to its final place, verifying
 * size and digest on the way: a directory writer writes to a temporary name and renames after the check;
 * a tar writer appends entries (blobs already written are skipped, so images sharing layers store them
 * once). `index.json` is written last.
 */
import { createHash } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { FileSource } from "./files";
import { HashingPassThrough } from "./docker-archive";
import { blobPath, type Descriptor, type ImageIndex, parseJson, REF_NAME } from "./oci";
import { MediaTypes } from "../../oci/media-types";
import { TarFileWriter } from "./tar";

export function isOciLayout(src: FileSource): boolean {
  return src.has("index.json") && src.has("oci-layout");
}

export async function readOciIndex(src: FileSource): Promise<ImageIndex> {
  const index = parseJson<ImageIndex>(await src.read("index.json"), `${src.path}: index.json`);
  if (!Array.isArray(index.manifests)) throw new Error(`${src.path}: index.json has no manifests`);
  return index;
}

export interface OciLayoutWriter {
  hasBlob(digest: string): boolean;
  /** Stream a blob in; throws (and leaves nothing behind) when size or digest do not match. */
  writeBlob(desc: Descriptor, input: AsyncIterable<Uint8Array>, onBytes?: (n: number) => void): Promise<void>;
  writeBytes(desc: Descriptor, bytes: Uint8Array): Promise<void>;
  /** Add these to index.json (existing entries with the same ref name are replaced) and close. */
  finish(entries: Descriptor[]): Promise<void>;
  abort(): Promise<void>;
}

interface Hashed {
  size: number;
  digest(): string;
}

function check(desc: Descriptor, h: Hashed): void {
  if (h.size !== desc.size) throw new Error(`blob ${desc.digest}: got ${h.size} bytes, expected ${desc.size}`);
  if (desc.digest.startsWith("sha256:") && h.digest() !== desc.digest) throw new Error(`blob ${desc.digest}: content has digest ${h.digest()}`);
}

async function* counting(input: AsyncIterable<Uint8Array>, onBytes?: (n: number) => void): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const c of input) {
    n += c.byteLength;
    onBytes?.(n);
    yield c;
  }
}

function mergeIndex(existing: Descriptor[], entries: Descriptor[]): Descriptor[] {
  const refOf = (d: Descriptor) => d.annotations?.[REF_NAME];
  const newRefs = new Set(entries.map(refOf).filter(Boolean));
  return [...existing.filter((d) => !refOf(d) || !newRefs.has(refOf(d))), ...entries];
}

/** An OCI layout in a directory (created, or added to when it already is a layout). */
export async function createOciDirWriter(dir: string): Promise<OciLayoutWriter> {
  await mkdir(join(dir, "blobs"), { recursive: true });
  const existing: Descriptor[] = existsSync(join(dir, "index.json"))
    ? (parseJson<ImageIndex>(await readFile(join(dir, "index.json")), "index.json").manifests ?? [])
    : [];
  const has = (digest: string) => existsSync(join(dir, blobPath(digest)));
  async function writeOne(desc: Descriptor, input: AsyncIterable<Uint8Array>, onBytes?: (n: number) => void): Promise<void> {
    if (has(desc.digest)) return;
    const final = join(dir, blobPath(desc.digest));
    await mkdir(dirname(final), { recursive: true });
    const tmp = `${final}.partial-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const h = new HashingPassThrough();
    try {
      await pipeline(counting(input, onBytes), h, createWriteStream(tmp));
      check(desc, h);
      await rename(tmp, final);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
  // A blob being written is written once: a second writer of the same digest waits for the first.
  const inFlight = new Map<string, Promise<void>>();
  const writeBlob = (desc: Descriptor, input: AsyncIterable<Uint8Array>, onBytes?: (n: number) => void): Promise<void> => {
    const running = inFlight.get(desc.digest);
    if (running) return running.catch(() => writeBlob(desc, input, onBytes));
    const p = writeOne(desc, input, onBytes).finally(() => inFlight.delete(desc.digest));
    inFlight.set(desc.digest, p);
    return p;
  };
  return {
    hasBlob: has,
    writeBlob,
    async writeBytes(desc, bytes) {
      if (has(desc.digest)) return;
      const final = join(dir, blobPath(desc.digest));
      await mkdir(dirname(final), { recursive: true });
      await writeFile(final, bytes);
    },
    async finish(entries) {
      await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
      await writeFile(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: mergeIndex(existing, entries) }));
    },
    async abort() {},
  };
}

/** An OCI layout written as a tar file. */
export async function createOciTarWriter(path: string): Promise<OciLayoutWriter> {
  const tar = await TarFileWriter.create(path);
  await tar.addBuffer("oci-layout", JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const written = new Set<string>();
  const dirs = new Set<string>();
  // Entries go into the tar one after another: concurrent writers queue here.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  };
  const ensureDir = async (digest: string) => {
    const d = dirname(blobPath(digest));
    if (!dirs.has("blobs")) {
      dirs.add("blobs");
      await tar.addDir("blobs");
    }
    if (!dirs.has(d)) {
      dirs.add(d);
      await tar.addDir(d);
    }
  };
  return {
    hasBlob: (d) => written.has(d),
    writeBlob: (desc, input, onBytes) => serial(async () => {
      if (written.has(desc.digest)) return;
      await ensureDir(desc.digest);
      const hash = createHash("sha256");
      let hex = "";
      const h = { size: 0, digest: () => `sha256:${(hex ||= hash.digest("hex"))}` };
      const src = counting(input, onBytes);
      const hashed = (async function* () {
        for await (const c of src) {
          hash.update(c);
          h.size += c.byteLength;
          yield c;
        }
      })();
      await tar.addStream(hashed, () => {
        check(desc, h);
        return blobPath(desc.digest);
      });
      written.add(desc.digest);
    }),
    writeBytes: (desc, bytes) => serial(async () => {
      if (written.has(desc.digest)) return;
      await ensureDir(desc.digest);
      const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
      if (desc.digest.startsWith("sha256:") && digest !== desc.digest) throw new Error(`blob ${desc.digest}: content has digest ${digest}`);
      await tar.addBuffer(blobPath(desc.digest), bytes);
      written.add(desc.digest);
    }),
    finish: (entries) => serial(async () => {
      await tar.addBuffer("index.json", JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: entries }));
      await tar.close();
    }),
    abort: () => tar.abort(),
  };
}
