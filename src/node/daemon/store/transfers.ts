/**
 * Store mode transfers: pull (`POST /images/create`) and push (`POST /images/{name}/push`) with the
 * Wharf client and Docker jsonmessage progress; save (`GET /images/get`, `/images/{name}/get`) and load
 * (`POST /images/load`) through archive-io.ts. Everything that can fail before the answer starts
 * (bad name, unknown image, registry refusal, missing manifest) is checked first and answered as an
 * HTTP status; later failures are in-stream errors.
 */
import { createReadStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { hostPlatform, type ImageConfig, INDEX_TYPES, parsePlatform, parseJson, formatPlatform } from "../../archive/oci";
import { shortId } from "../../transfer/events";
import { pullGraph, resolveImage } from "../../transfer/pull";
import { pushGraph } from "../../transfer/push-graph";
import { badRequest, DaemonError, notFound } from "../errors";
import { bodyToFile, type Ctx } from "../http";
import { openStream, withoutIds } from "../jsonstream";
import { formatLocal, type LocalName, parseLocalName, registryRef } from "../refs";
import { loadArchive, saveArchive } from "./archive-io";
import type { StoredImage } from "./image-store";
import { mustResolve, type StoreDeps } from "./routes";

export async function pullImage(c: Ctx, d: StoreDeps): Promise<void> {
  const q = c.url.searchParams;
  if (q.get("fromSrc")) throw new DaemonError(501, "docker import is not supported by wharf daemon");
  const from = q.get("fromImage");
  if (!from) throw badRequest("fromImage is required");
  let name = parseLocalName(from);
  const tag = q.get("tag");
  if (tag) name = tag.startsWith("sha256:") ? { repository: name.repository, digest: tag } : { repository: name.repository, tag };
  const ref = registryRef(name);
  const platform = q.get("platform") ? parsePlatform(q.get("platform")!) ?? hostPlatform() : hostPlatform();
  const client = d.clients.forRequest(c.req, ref.host);
  // Before the stream: a missing manifest or a refused login is an HTTP status.
  const { desc, bytes } = await resolveImage(client, ref, platform);
  if (INDEX_TYPES.has(desc.mediaType)) throw badRequest(`${from}: nested index for ${formatPlatform(platform)} is not supported`);
  const manifest = parseJson<{ config: { digest: string }; layers: { digest: string }[] }>(bytes, `manifest ${desc.digest}`);
  const key = formatLocal(name);
  const before = name.digest ? undefined : d.store.refs.tags[key];
  const out = openStream(c.res);
  try {
    out.statusFor(name.digest ?? name.tag ?? "latest", `Pulling from ${ref.repository}`);
    const events = withoutIds(out.events, new Set([shortId(manifest.config.digest)]));
    await d.store.writingBlobs(async () => {
      await pullGraph(client, ref.repository, desc, bytes, await d.store.writer(), { format: "oci", platform, events });
      const config = parseJson<ImageConfig>(await d.store.readBlob(manifest.config.digest), "config");
      const now = new Date().toISOString();
      await d.store.update((refs) => {
        if (!name.digest) {
          refs.tags[key] = desc.digest;
          refs.tagged[key] = now;
        }
        refs.digests[`${name.repository}@${desc.digest}`] = desc.digest;
        (config.rootfs?.diff_ids ?? []).forEach((diff, i) => {
          const l = manifest.layers[i] as { digest: string; size: number; mediaType: string } | undefined;
          if (l) refs.diffs[diff] = { mediaType: l.mediaType, digest: l.digest, size: l.size };
        });
      });
    });
    out.events.status(`Digest: ${desc.digest}`);
    out.events.status(before === desc.digest ? `Status: Image is up to date for ${key}` : `Status: Downloaded newer image for ${key}`);
  } catch (e) {
    out.error(e);
  }
  out.end();
}

/** `docker push name[:tag]` (no tag: every tag of the repository, as `docker push --all-tags`). */
export async function pushImage(c: Ctx, d: StoreDeps): Promise<void> {
  const name = parseLocalName(c.params[0]);
  const tag = c.url.searchParams.get("tag") || name.tag;
  const repo: LocalName = { repository: name.repository };
  const targets = Object.keys(d.store.refs.tags)
    .filter((t) => t.slice(0, t.lastIndexOf(":")) === name.repository && (!tag || t === formatLocal({ ...repo, tag })))
    .sort();
  if (!targets.length) throw notFound(`An image does not exist locally with the tag: ${name.repository}${tag ? `:${tag}` : ""}`);
  const ref = registryRef(repo);
  const client = d.clients.forRequest(c.req, ref.host);
  await client.ping(); // a refused login is an HTTP status, before the stream
  const content = await d.store.contentStore();
  const out = openStream(c.res);
  try {
    out.events.status(`The push refers to repository [${ref.host}/${ref.repository}]`);
    for (const t of targets) {
      const img = await d.store.image(d.store.refs.tags[t]);
      const pushTag = t.slice(t.lastIndexOf(":") + 1);
      const events = withoutIds(out.events, new Set([shortId(img.id)]));
      const desc = { mediaType: img.mediaType, digest: img.manifestDigest, size: img.manifestSize };
      const digest = await pushGraph(client, ref.repository, content, desc, pushTag, { events, chunkSize: d.chunkSize });
      await d.store.update((refs) => {
        refs.digests[`${name.repository}@${digest}`] = img.manifestDigest;
      });
      out.events.status(`${pushTag}: digest: ${digest} size: ${img.manifestSize}`);
      out.events.aux({ Tag: pushTag, Digest: digest, Size: img.manifestSize });
    }
  } catch (e) {
    out.error(e);
  }
  out.end();
}

/** `docker save`: every name resolved first (404 before anything is sent), then the archive streamed. */
export async function saveImages(c: Ctx, d: StoreDeps, names: string[]): Promise<void> {
  if (!names.length) throw badRequest("no image names given (names=...)");
  const images: { img: StoredImage; repoTags: string[] }[] = [];
  for (const n of names) {
    const img = await mustResolve(d.store, n);
    let repoTags = img.repoTags;
    try {
      const local = parseLocalName(n);
      if (!local.digest && d.store.refs.tags[formatLocal(local)]) repoTags = [formatLocal(local)];
    } catch {
      // an image ID: all its tags
    }
    images.push({ img, repoTags });
  }
  const tmp = d.store.tmpPath("save.tar");
  try {
    await d.store.writingBlobs(() => saveArchive(d.store, images, tmp));
    c.res.writeHead(200, { "Content-Type": "application/x-tar", "Content-Length": String((await stat(tmp)).size) });
    await pipeline(createReadStream(tmp), c.res);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** `docker load`: the archive is streamed to a temporary file (tar entries are read by offset), then stored. */
export async function loadImages(c: Ctx, d: StoreDeps): Promise<void> {
  const tmp = d.store.tmpPath("load.tar");
  try {
    const lines = await d.store.writingBlobs(async () => {
      await bodyToFile(c.req, tmp);
      return loadArchive(d.store, tmp);
    });
    const text = lines.map((l) => `${JSON.stringify({ stream: `${l}\n` })}\n`).join("");
    c.res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
    c.res.end(text);
  } finally {
    await rm(tmp, { force: true });
  }
}

