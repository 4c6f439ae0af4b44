/**
 * A small streaming tar reader and writer (ustar, with GNU long names and pax headers on read).
 *
 * Reading indexes a tar file by walking its 512-byte headers and seeking over the bodies, so an entry
 * is opened later as a byte range of the file: nothing but headers is ever read up front, and an
 * archive whose manifest.json comes last (classic `docker save`) costs no buffering.
 *
 * Writing appends entries one after another. An entry whose size (or name) is not known before its
 * bytes are streamed, such as a layer being decompressed while it downloads, is written with a
 * placeholder header that is patched in place once the body is done (the output is a seekable file).
 */
import { createReadStream, type ReadStream } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import type { Readable } from "node:stream";

const BLOCK = 512;

export interface TarEntry {
  name: string;
  type: "file" | "dir" | "symlink" | "link" | "other";
  size: number;
  /** Byte offset of the body in the tar file. */
  offset: number;
  linkname: string;
}

function readString(buf: Buffer, off: number, len: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString("utf8", off, end === -1 || end > off + len ? off + len : end);
}

function readNumber(buf: Buffer, off: number, len: number): number {
  if (buf[off] & 0x80) {
    // GNU base-256: big-endian, first byte's high bit set
    let v = buf[off] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + buf[off + i];
    return v;
  }
  const s = readString(buf, off, len).trim();
  return s ? parseInt(s, 8) : 0;
}

function checksumOf(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
  return sum;
}

function parsePax(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  const bytes = Buffer.from(text, "utf8");
  while (pos < bytes.length) {
    const sp = bytes.indexOf(0x20, pos);
    if (sp === -1) break;
    const len = parseInt(bytes.toString("utf8", pos, sp), 10);
    if (!len) break;
    const record = bytes.toString("utf8", sp + 1, pos + len - 1);
    const eq = record.indexOf("=");
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

const TYPES: Record<string, TarEntry["type"]> = { "0": "file", "\0": "file", "7": "file", "5": "dir", "2": "symlink", "1": "link" };

/** Walk the headers of a tar file and list its entries (later entries with the same name win on lookup). */
export async function indexTar(path: string): Promise<TarEntry[]> {
  const fh = await open(path, "r");
  try {
    const entries: TarEntry[] = [];
    const header = Buffer.alloc(BLOCK);
    let pos = 0;
    let longName: string | null = null;
    let longLink: string | null = null;
    let pax: Record<string, string> = {};
    for (;;) {
      const { bytesRead } = await fh.read(header, 0, BLOCK, pos);
      if (bytesRead < BLOCK) break;
      if (header.every((b) => b === 0)) break;
      if (readNumber(header, 148, 8) !== checksumOf(header)) throw new Error(`${path}: not a tar file (bad header checksum at byte ${pos})`);
      const size = readNumber(header, 124, 12);
      const flag = String.fromCharCode(header[156]);
      const body = pos + BLOCK;
      const next = body + Math.ceil(size / BLOCK) * BLOCK;
      if (flag === "L" || flag === "K" || flag === "x" || flag === "g") {
        const data = Buffer.alloc(size);
        await fh.read(data, 0, size, body);
        if (flag === "L") longName = readString(data, 0, size);
        else if (flag === "K") longLink = readString(data, 0, size);
        else if (flag === "x") pax = parsePax(data.toString("utf8"));
        pos = next;
        continue;
      }
      const prefix = header.subarray(257, 263).toString("latin1").startsWith("ustar") ? readString(header, 345, 155) : "";
      let name = readString(header, 0, 100);
      if (prefix) name = `${prefix}/${name}`;
      name = pax.path ?? longName ?? name;
      const realSize = pax.size !== undefined ? Number(pax.size) : size;
      entries.push({
        name: normalizeName(name),
        type: TYPES[flag] ?? "other",
        size: realSize,
        offset: body,
        linkname: pax.linkpath ?? longLink ?? readString(header, 157, 100),
      });
      pos = body + Math.ceil(realSize / BLOCK) * BLOCK;
      longName = longLink = null;
      pax = {};
    }
    return entries;
  } finally {
    await fh.close();
  }
}

/** "./a/b/" → "a/b" */
export function normalizeName(name: string): string {
  return name.replace(/^(\.\/)+/, "").replace(/^\/+/, "").replace(/\/+$/, "");
}

/** A read stream over one entry's body. */
export function openEntry(path: string, entry: TarEntry): ReadStream {
  if (entry.size === 0) return createReadStream(path, { start: 1, end: 0 });
  return createReadStream(path, { start: entry.offset, end: entry.offset + entry.size - 1 });
}

// ---------------------------------------------------------------------------------------------
// Writing

function writeString(buf: Buffer, s: string, off: number, len: number): void {
  buf.write(s, off, len, "utf8");
}

function writeOctal(buf: Buffer, n: number, off: number, len: number): void {
  if (n >= 8 ** (len - 1)) {
    // base-256 for sizes past the octal field (8 GiB for size)
    buf.fill(0, off, off + len);
    let v = n;
    for (let i = len - 1; i > 0; i--) {
      buf[off + i] = v % 256;
      v = Math.floor(v / 256);
    }
    buf[off] = 0x80;
    return;
  }
  writeString(buf, n.toString(8).padStart(len - 1, "0") + "\0", off, len);
}

/** Split a path into ustar name (≤100 bytes) and prefix (≤155 bytes), or throw. */
function splitName(name: string): { name: string; prefix: string } {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: "" };
  for (let i = name.indexOf("/"); i !== -1; i = name.indexOf("/", i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100) return { name: rest, prefix };
  }
  throw new Error(`tar entry name too long: ${name}`);
}

export function tarHeader(name: string, size: number, type: "file" | "dir" = "file", mtime = 0, mode = type === "dir" ? 0o755 : 0o644): Buffer {
  const h = Buffer.alloc(BLOCK);
  const parts = splitName(type === "dir" && !name.endsWith("/") ? `${name}/` : name);
  writeString(h, parts.name, 0, 100);
  writeOctal(h, mode, 100, 8);
  writeOctal(h, 0, 108, 8);
  writeOctal(h, 0, 116, 8);
  writeOctal(h, size, 124, 12);
  writeOctal(h, mtime, 136, 12);
  h[156] = (type === "dir" ? "5" : "0").charCodeAt(0);
  writeString(h, "ustar\0", 257, 6);
  writeString(h, "00", 263, 2);
  writeString(h, parts.prefix, 345, 155);
  writeString(h, checksumOf(h).toString(8).padStart(6, "0") + "\0 ", 148, 8);
  return h;
}

/** Appends entries to a tar file; `close` writes the two zero blocks that end the archive. */
export class TarFileWriter {
  private pos = 0;
  private constructor(private fh: FileHandle) {}

  static async create(path: string): Promise<TarFileWriter> {
    return new TarFileWriter(await open(path, "w"));
  }

  private async write(buf: Buffer | Uint8Array): Promise<void> {
    let done = 0;
    while (done < buf.byteLength) {
      const { bytesWritten } = await this.fh.write(buf, done, buf.byteLength - done, this.pos);
      done += bytesWritten;
      this.pos += bytesWritten;
    }
  }

  private async pad(size: number): Promise<void> {
    const rem = size % BLOCK;
    if (rem) await this.write(Buffer.alloc(BLOCK - rem));
  }

  async addDir(name: string): Promise<void> {
    await this.write(tarHeader(name, 0, "dir"));
  }

  async addBuffer(name: string, data: Uint8Array | string): Promise<void> {
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    await this.write(tarHeader(name, buf.byteLength));
    await this.write(buf);
    await this.pad(buf.byteLength);
  }

  /**
   * Stream an entry of unknown size. `finalName` is asked for the entry's name after the body is
   * written (a digest computed along the way, for instance); the header is then patched in place.
   * If the stream fails or `finalName` throws (a failed check), the entry is rolled back.
   */
  async addStream(stream: Readable | AsyncIterable<Uint8Array>, finalName: () => string, expectedSize?: number): Promise<number> {
    const headerPos = this.pos;
    try {
      await this.write(Buffer.alloc(BLOCK));
      let size = 0;
      for await (const chunk of stream as AsyncIterable<Uint8Array>) {
        await this.write(chunk);
        size += chunk.byteLength;
      }
      if (expectedSize !== undefined && size !== expectedSize) throw new Error(`entry is ${size} bytes, expected ${expectedSize}`);
      const header = tarHeader(finalName(), size);
      await this.pad(size);
      await this.fh.write(header, 0, BLOCK, headerPos);
      return size;
    } catch (e) {
      // Roll back: the next entry overwrites this one, and close() truncates what is left.
      this.pos = headerPos;
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.write(Buffer.alloc(BLOCK * 2));
    await this.fh.truncate(this.pos);
    await this.fh.close();
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => {});
  }
}
