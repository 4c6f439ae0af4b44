/**
 * Front mode's one exception to pass-through: `POST /images/{name}/push`. Docker's engine sends each
 * layer in one request, which Cloudflare's edge refuses past 100 MB; Wharf's client pushes in chunks
 * sized to what the registry advertises. So the front
 *   1. checks the image exists in the daemon (`GET /images/{name}/json`) and that the registry accepts
 *      the credentials from `X-Registry-Auth` (a refusal is an HTTP status, before any progress),
 *   2. exports the image from the daemon (`GET /images/get?names=...`, a docker save archive) into a
 *      temporary file (tar entries are then read by offset; nothing is held in memory),
 *   3. pushes it with `pushArchive` (src/node/transfer/push.ts: layers gzip-compressed on the way,
 *      skipped or mounted when the layer cache says the registry has them), streaming Docker
 *      jsonmessage progress (`Pushing` with progressDetail, `Pushed`, `Layer already exists`, the final
 *      status line and `aux` with the digest) back to the docker CLI.
 * A push without a tag pushes every tag of the repository, as dockerd does. Names without a registry
 * host (Docker Hub) are not Wharf's business and pass through unchanged.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { isDockerArchive, readDockerManifest } from "../archive/docker-archive";
import { openFileSource } from "../archive/files";
import type { LayerCache } from "../transfer/layer-cache";
import { pushArchive } from "../transfer/push";
import { DaemonError, notFound } from "./errors";
import type { Forwarder } from "./forward";
import type { Ctx } from "./http";
import { openStream } from "./jsonstream";
import { parseLocalName, registryHostOf, registryRef } from "./refs";
import type { RegistryClients } from "./registry-auth";

export interface PushThroughDeps {
  forwarder: Forwarder;
  clients: RegistryClients;
  chunkSize?: number;
  layerCache: () => LayerCache | null;
  tmpDir?: string;
}

/** Whether the front handles this request itself (a push to a named registry). */
export function isPushToRegistry(method: string, path: string): string | null {
  if (method !== "POST") return null;
  const m = /^\/images\/(.+)\/push$/.exec(path);
  if (!m) return null;
  const name = decodeURIComponent(m[1]);
  return registryHostOf(name) ? name : null;
}

async function readAll(res: IncomingMessage): Promise<string> {
  let s = "";
  for await (const c of res) s += c;
  return s;
}

/** The daemon's error answer as ours (same status, its message). */
async function daemonError(res: IncomingMessage, fallback: string): Promise<DaemonError> {
  const text = await readAll(res);
  let message = fallback;
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? fallback;
  } catch {
    if (text.trim()) message = text.trim();
  }
  return new DaemonError(res.statusCode ?? 500, message);
}

export async function pushThrough(c: Ctx, d: PushThroughDeps, rawName: string): Promise<void> {
  const name = parseLocalName(rawName);
  const tag = c.url.searchParams.get("tag") || name.tag || "";
  const ref = registryRef({ repository: name.repository });
  const exportName = tag ? `${name.repository}:${tag}` : name.repository;
  const versionPrefix = c.req.url!.match(/^\/v\d+\.\d+/)?.[0] ?? "";

  const probe = await d.forwarder.request("GET", `${versionPrefix}/images/${encodeURIComponent(exportName)}/json`);
  if (probe.statusCode !== 200) {
    const err = await daemonError(probe, `No such image: ${exportName}`);
    throw err.status === 404 ? notFound(`An image does not exist locally with the tag: ${exportName}`) : err;
  }
  probe.resume();
  const client = d.clients.forRequest(c.req, ref.host);
  await client.ping();

  const dir = await mkdtemp(join(d.tmpDir ?? tmpdir(), "wharf-push-"));
  const out = openStream(c.res);
  try {
    out.events.status(`The push refers to repository [${ref.host}/${ref.repository}]`);
    const exported = await d.forwarder.request("GET", `${versionPrefix}/images/get?names=${encodeURIComponent(exportName)}`);
    if (exported.statusCode !== 200) throw await daemonError(exported, `exporting ${exportName} failed`);
    const file = join(dir, "image.tar");
    await pipeline(exported, createWriteStream(file));
    const src = await openFileSource(file);
    if (!isDockerArchive(src)) throw new Error(`the Docker daemon exported ${exportName} without a manifest.json`);
    const tags = new Set<string>();
    for (const e of await readDockerManifest(src)) {
      for (const rt of e.RepoTags ?? []) {
        const n = parseLocalName(rt);
        if (n.repository === name.repository && n.tag && (!tag || n.tag === tag)) tags.add(n.tag);
      }
    }
    if (!tags.size) throw new Error(`the Docker daemon exported no tag of ${exportName}`);
    for (const t of [...tags].sort()) {
      // pushArchive announces the repository itself; it was announced once above.
      const events = { ...out.events, status: (s: string) => void (s.startsWith("The push refers to repository") || out.events.status(s)) };
      await pushArchive(client, file, { ...ref, tag: t }, {
        events,
        image: `${name.repository}:${t}`,
        chunkSize: d.chunkSize,
        layerCache: d.layerCache(),
      });
    }
  } catch (e) {
    out.error(e);
  } finally {
    out.end();
    await rm(dir, { recursive: true, force: true });
  }
}
