/**
 * The daemon's request plumbing: a route table type shared by both modes, and small body helpers.
 */
import { createWriteStream } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { badRequest } from "./errors";

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The path without its /v1.xx prefix. */
  path: string;
  /** The API version the request asked for. */
  version: string;
  /** The route's captures, URL-decoded. */
  params: string[];
}

export type Handler = (c: Ctx) => Promise<void>;
export type Route = [method: string, path: RegExp, handler: Handler];

/** The first route matching method and path, with its captures. */
export function match(routes: Route[], method: string, path: string): { handler: Handler; params: string[] } | null {
  for (const [m, re, handler] of routes) {
    if (m !== method) continue;
    const found = re.exec(path);
    if (found) return { handler, params: found.slice(1).map((p) => decodeURIComponent(p)) };
  }
  return null;
}

/** A small JSON body (POST /auth), refusing anything over `limit`. */
export async function readJson<T>(req: IncomingMessage, limit = 64 * 1024): Promise<T> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) throw badRequest(`request body over ${limit} bytes`);
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as T;
  } catch (e) {
    throw badRequest(`request body is not JSON: ${(e as Error).message}`);
  }
}

/** Stream the request body to a file. */
export async function bodyToFile(req: IncomingMessage, path: string): Promise<void> {
  await pipeline(req, createWriteStream(path));
}

export function truthy(v: string | null): boolean {
  return v === "1" || v === "true" || v === "True";
}
