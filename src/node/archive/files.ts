/**
 * Read access to the files of an archive, whether it is a directory or a tar file: small files read
 * whole (JSON), big ones opened as streams. Tar archives are indexed once (headers only, tar.ts).
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, posix } from "node:path";
import type { Readable } from "node:stream";
import { indexTar, openEntry, type TarEntry } from "./tar";

export interface FileSource {
  readonly path: string;
  has(name: string): boolean;
  size(name: string): number;
  open(name: string): Readable;
  /** Whole file, refusing anything larger than `limit` (manifests and configs are small). */
  read(name: string, limit?: number): Promise<Buffer>;
  /** First bytes of a file (compression sniffing). */
  head(name: string, n: number): Promise<Buffer>;
}

const SMALL = 64 * 1024 * 1024;

export async function openFileSource(path: string): Promise<FileSource> {
  if (!existsSync(path)) throw new Error(`${path}: no such file or directory`);
  return statSync(path).isDirectory() ? new DirSource(path) : TarSource.open(path);
}

async function readStream(stream: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of stream) {
    total += c.length;
    if (total > limit) {
      stream.destroy();
      throw new Error(`${what} is larger than ${limit} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

async function headOf(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of stream) {
    chunks.push(c);
    total += c.length;
    if (total >= n) break;
  }
  stream.destroy();
  return Buffer.concat(chunks).subarray(0, n);
}

class DirSource implements FileSource {
  constructor(readonly path: string) {}
  private full(name: string) {
    const clean = posix.normalize(name);
    if (clean.startsWith("..")) throw new Error(`${name}: path leaves the archive`);
    return join(this.path, clean);
  }
  has(name: string) {
    return existsSync(this.full(name));
  }
  size(name: string) {
    return statSync(this.full(name)).size;
  }
  open(name: string) {
    return createReadStream(this.full(name));
  }
  async read(name: string, limit = SMALL) {
    if (this.size(name) > limit) throw new Error(`${name} is larger than ${limit} bytes`);
    return readFile(this.full(name));
  }
  head(name: string, n: number) {
    return headOf(this.open(name), n);
  }
}

class TarSource implements FileSource {
  private entries = new Map<string, TarEntry>();
  private constructor(readonly path: string, list: TarEntry[]) {
    for (const e of list) this.entries.set(e.name, e);
  }
  static async open(path: string): Promise<TarSource> {
    return new TarSource(path, await indexTar(path));
  }
  private entry(name: string, depth = 0): TarEntry {
    const key = posix.normalize(name).replace(/^\.\//, "");
    const e = this.entries.get(key);
    if (!e) throw new Error(`${this.path}: no ${name} in the archive`);
    if (depth > 8) throw new Error(`${this.path}: too many links at ${name}`);
    if (e.type === "symlink") return this.entry(posix.join(posix.dirname(key), e.linkname), depth + 1);
    if (e.type === "link") return this.entry(e.linkname, depth + 1);
    return e;
  }
  has(name: string) {
    try {
      this.entry(name);
      return true;
    } catch {
      return false;
    }
  }
  size(name: string) {
    return this.entry(name).size;
  }
  open(name: string) {
    return openEntry(this.path, this.entry(name));
  }
  read(name: string, limit = SMALL) {
    if (this.size(name) > limit) throw new Error(`${name} is larger than ${limit} bytes`);
    return readStream(this.open(name), limit, name);
  }
  head(name: string, n: number) {
    return headOf(this.open(name), n);
  }
}

export type Compression = "gzip" | "zstd" | "none";

export function sniffCompression(head: Uint8Array): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  return "none";
}
