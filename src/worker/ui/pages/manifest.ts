/**
 * GET /r/<name>:<tag> and /r/<name>@<digest> : one manifest. An index lists its platforms (each a link
 * to that platform's manifest); an image its layers, sizes and configuration; both their referrers
 * (signatures, SBOMs, attestations, other artifacts) by artifactType, and pull commands by tag and by digest.
 */
import { MediaTypes } from "../../../oci/media-types";
import { parseDigest } from "../../../oci/grammar";
import { RegistryError } from "../../errors";
import type { ManifestContent } from "../../storage/manifests";
import type { Descriptor } from "../../../oci/descriptor";
import { mayDelete, type UiContext } from "../context";
import { bytes, shortDigest } from "../format";
import { type Html, html } from "../html";
import { page } from "../layout";
import { commandList, copyable, pullCommands } from "../pull-commands";
import { digestHref, repoHref, tagHref, type UiRef } from "../reference";
import { configSection, readConfig } from "./image-config";
import { requireRepository } from "./tags";

export const MAX_REFERRERS_SHOWN = 100;

interface Doc {
  mediaType?: string;
  artifactType?: string;
  config?: Desc;
  layers?: Desc[];
  manifests?: (Desc & { platform?: { os?: string; architecture?: string; variant?: string } })[];
  subject?: Desc;
  annotations?: Record<string, string>;
}
interface Desc {
  mediaType?: string;
  digest?: string;
  size?: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export async function loadManifest(c: UiContext, ref: UiRef): Promise<ManifestContent> {
  await requireRepository(c, ref.name);
  const m = ref.tag !== undefined ? await c.storage.manifests.getTag(ref.name, ref.tag) : await c.storage.manifests.get(ref.name, ref.digest!);
  if (!m) throw new RegistryError("MANIFEST_UNKNOWN", `${ref.name} has no ${ref.tag !== undefined ? `tag ${ref.tag}` : `manifest ${ref.digest}`}`);
  return m;
}

function parseDoc(m: ManifestContent): Doc {
  try {
    const d = JSON.parse(new TextDecoder().decode(m.bytes)) as unknown;
    return d && typeof d === "object" && !Array.isArray(d) ? (d as Doc) : {};
  } catch {
    return {};
  }
}

const descs = <T extends Desc>(v: unknown): T[] => (Array.isArray(v) ? (v.filter((d) => d && typeof d === "object" && typeof d.digest === "string") as T[]) : []);

export async function manifestPage(c: UiContext, ref: UiRef): Promise<Response> {
  const m = await loadManifest(c, ref);
  const doc = parseDoc(m);
  const name = ref.name;
  const digest = m.digest.toString();
  const children = descs<NonNullable<Doc["manifests"]>[number]>(doc.manifests);
  const isIndex = Array.isArray(doc.manifests);
  const [sections, referrers] = await Promise.all([
    isIndex ? indexSection(c, name, children) : imageSections(c, name, doc),
    c.storage.referrers.list(name, m.digest, MAX_REFERRERS_SHOWN),
  ]);
  const label = ref.tag !== undefined ? `${name}:${ref.tag}` : `${name}@${shortDigest(digest)}`;
  const canDelete = mayDelete(c, name);
  const subject = doc.subject && typeof doc.subject.digest === "string" ? doc.subject.digest : undefined;
  const body = html`<h1>${label}</h1>
<dl class="facts">
<dt>Digest</dt><dd>${copyable(digest, "digest")}</dd>
<dt>Media type</dt><dd><code>${m.mediaType}</code></dd>
${doc.artifactType ? html`<dt>Artifact type</dt><dd><code>${doc.artifactType}</code></dd>` : ""}
<dt>Manifest size</dt><dd>${bytes(m.size)}</dd>
<dt>Content size</dt><dd>${bytes(m.contentSize ?? imageSize(doc))}</dd>
${subject ? html`<dt>Refers to</dt><dd><a href="${digestHref(name, subject)}"><code>${subject}</code></a></dd>` : ""}
</dl>
${annotations(doc.annotations)}
<h2>Pull</h2>
${
  ref.tag !== undefined
    ? html`${commandList(pullCommands(c, name, ref.tag), "Pull by tag")}
<details class="more"><summary>By digest (what this tag points at now)</summary>${commandList(pullCommands(c, name, digest), "Pull by digest")}</details>`
    : commandList(pullCommands(c, name, digest), "Pull by digest")
}
${sections}
${referrersSection(name, referrers.descriptors, referrers.next !== undefined)}
${
  canDelete
    ? html`<h2>Delete</h2><p>${ref.tag !== undefined ? html`<a class="button danger" href="${tagHref(name, ref.tag)}/delete">Delete tag ${ref.tag}…</a> ` : ""}<a class="button danger" href="${digestHref(name, digest)}/delete">Delete this manifest…</a></p>`
    : ""
}`;
  return page(c, {
    title: label,
    body,
    crumbs: [["Repositories", "/"], [name, repoHref(name)], [ref.tag ?? shortDigest(digest)]],
  });
}

function imageSize(doc: Doc): number | undefined {
  if (!doc.config && !doc.layers) return undefined;
  return [doc.config, ...descs(doc.layers)].reduce((a, d) => a + (typeof d?.size === "number" ? d.size : 0), 0);
}

function annotations(a: unknown): Html | string {
  if (!a || typeof a !== "object") return "";
  const entries = Object.entries(a as Record<string, unknown>).filter(([, v]) => typeof v === "string");
  if (!entries.length) return "";
  return html`<h2>Annotations</h2><div class="scroll"><table><thead><tr><th scope="col">Key</th><th scope="col">Value</th></tr></thead>
<tbody>${entries.map(([k, v]) => html`<tr><td><code>${k}</code></td><td>${v as string}</td></tr>`)}</tbody></table></div>`;
}

async function indexSection(c: UiContext, name: string, children: NonNullable<Doc["manifests"]>): Promise<Html> {
  const infos = await Promise.all(
    children.map(async (d) => {
      try {
        return await c.storage.manifests.stat(name, parseDigest(d.digest!));
      } catch {
        return null;
      }
    }),
  );
  const rows = children.map((d, i) => {
    const p = d.platform;
    const platform = p && typeof p.os === "string" ? [p.os, p.architecture, p.variant].filter(Boolean).join("/") : "—";
    return html`<tr>
<td><a href="${digestHref(name, d.digest!)}">${platform}</a></td>
<td><a href="${digestHref(name, d.digest!)}"><code>${shortDigest(d.digest!)}</code></a></td>
<td><code>${d.artifactType ?? d.mediaType ?? ""}</code></td>
<td class="num">${bytes(infos[i]?.contentSize)}</td>
</tr>`;
  });
  return html`<h2>Platforms</h2>
${
  rows.length
    ? html`<div class="scroll"><table><thead><tr><th scope="col">Platform</th><th scope="col">Digest</th><th scope="col">Media type</th><th scope="col" class="num">Size</th></tr></thead>
<tbody>${rows}</tbody></table></div>`
    : html`<p class="muted">This index lists no manifests.</p>`
}`;
}

async function imageSections(c: UiContext, name: string, doc: Doc): Promise<Html> {
  const layers = descs(doc.layers);
  const config = doc.config && typeof doc.config.digest === "string" ? doc.config : undefined;
  const cfg = config && isImageConfig(config.mediaType) ? await readConfig(c, name, config.digest!) : null;
  const total = layers.reduce((a, l) => a + (typeof l.size === "number" ? l.size : 0), 0);
  return html`<h2>Layers</h2>
${
  layers.length
    ? html`<div class="scroll"><table><thead><tr><th scope="col" class="num">#</th><th scope="col">Digest</th><th scope="col">Media type</th><th scope="col" class="num">Size</th></tr></thead>
<tbody>${layers.map(
        (l, i) => html`<tr><td class="num">${i + 1}</td><td><code>${shortDigest(l.digest!)}</code></td><td><code>${l.mediaType ?? ""}</code></td><td class="num">${bytes(l.size)}</td></tr>`,
      )}</tbody>
<tfoot><tr><th scope="row" colspan="3">Total</th><td class="num">${bytes(total)}</td></tr></tfoot></table></div>`
    : html`<p class="muted">No layers.</p>`
}
${config ? (isImageConfig(config.mediaType) ? configSection(cfg, config.mediaType ?? "") : html`<h2>Config</h2><p><code>${config.mediaType ?? ""}</code>, ${bytes(config.size)}</p>`) : ""}`;
}

function isImageConfig(mediaType: string | undefined): boolean {
  return mediaType === MediaTypes.ociConfig || mediaType === MediaTypes.dockerConfig;
}

function referrersSection(name: string, list: Descriptor[], more: boolean): Html {
  const groups = new Map<string, Descriptor[]>();
  for (const d of list) {
    const t = d.artifactType || d.mediaType;
    groups.set(t, [...(groups.get(t) ?? []), d]);
  }
  return html`<h2 id="referrers">Referrers</h2>
${
  list.length
    ? [...groups].map(
        ([type, ds]) => html`<h3><code>${type}</code> <span class="badge">${ds.length}</span></h3>
<div class="scroll"><table><thead><tr><th scope="col">Digest</th><th scope="col" class="num">Size</th><th scope="col">Annotations</th></tr></thead>
<tbody>${ds.map(
          (d) => html`<tr><td><a href="${digestHref(name, d.digest)}"><code>${shortDigest(d.digest)}</code></a></td><td class="num">${bytes(d.size)}</td><td>${Object.entries(
            d.annotations ?? {},
          ).map(([k, v]) => html`<div><code>${k}</code>: ${v}</div>`)}</td></tr>`,
        )}</tbody></table></div>`,
      )
    : html`<p class="muted">No signatures, SBOMs, attestations or other artifacts refer to this manifest.</p>`
}
${more ? html`<p class="muted">Showing the first ${MAX_REFERRERS_SHOWN}.</p>` : ""}`;
}
