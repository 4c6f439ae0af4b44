/** The image configuration section of a manifest page: platform, entrypoint, cmd, env, labels, history. */
import type { Digest } from "../../../oci/grammar";
import { parseDigest } from "../../../oci/grammar";
import type { UiContext } from "../context";
import { when } from "../format";
import { type Html, html } from "../html";

/** Larger configs are not read (a real image config is a few kB). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: {
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Env?: string[] | null;
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, unknown>;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
  };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
}

export async function readConfig(c: UiContext, name: string, digest: string): Promise<ImageConfig | null> {
  let d: Digest;
  try {
    d = parseDigest(digest);
  } catch {
    return null;
  }
  const info = await c.storage.blobs.statInRepo(name, d);
  if (!info || info.size > MAX_CONFIG_BYTES) return null;
  try {
    const text = await new Response(await c.storage.blobs.open(info)).text();
    const doc = JSON.parse(text) as unknown;
    return doc && typeof doc === "object" && !Array.isArray(doc) ? (doc as ImageConfig) : null;
  } catch {
    return null;
  }
}

const list = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : undefined);
const argv = (v: unknown) => {
  const a = list(v);
  return a?.length ? html`<code>${JSON.stringify(a)}</code>` : html`<span class="muted">none</span>`;
};

export function configSection(cfg: ImageConfig | null, mediaType: string): Html {
  if (!cfg) return html`<h2>Configuration</h2><p class="muted">Configuration (${mediaType}) not shown: not an image configuration, too large or not readable.</p>`;
  const k = cfg.config ?? {};
  const platform = [cfg.os, cfg.architecture, cfg.variant].filter((x) => typeof x === "string" && x).join("/");
  const env = list(k.Env) ?? [];
  const labels = k.Labels && typeof k.Labels === "object" ? Object.entries(k.Labels).filter(([, v]) => typeof v === "string") : [];
  const ports = k.ExposedPorts && typeof k.ExposedPorts === "object" ? Object.keys(k.ExposedPorts) : [];
  const history = Array.isArray(cfg.history) ? cfg.history : [];
  return html`<h2>Configuration</h2>
<dl class="facts">
${platform ? html`<dt>Platform</dt><dd>${platform}</dd>` : ""}
${typeof cfg.created === "string" ? html`<dt>Created</dt><dd>${createdAt(cfg.created)}</dd>` : ""}
${typeof cfg.author === "string" ? html`<dt>Author</dt><dd>${cfg.author}</dd>` : ""}
<dt>Entrypoint</dt><dd>${argv(k.Entrypoint)}</dd>
<dt>Cmd</dt><dd>${argv(k.Cmd)}</dd>
${typeof k.WorkingDir === "string" && k.WorkingDir ? html`<dt>Working dir</dt><dd><code>${k.WorkingDir}</code></dd>` : ""}
${typeof k.User === "string" && k.User ? html`<dt>User</dt><dd><code>${k.User}</code></dd>` : ""}
${ports.length ? html`<dt>Exposed ports</dt><dd>${ports.map((p, i) => [i ? ", " : "", html`<code>${p}</code>`])}</dd>` : ""}
${typeof k.StopSignal === "string" ? html`<dt>Stop signal</dt><dd><code>${k.StopSignal}</code></dd>` : ""}
</dl>
<h3>Environment</h3>
${env.length ? html`<pre>${env.join("\n")}</pre>` : html`<p class="muted">none</p>`}
<h3>Labels</h3>
${
  labels.length
    ? html`<div class="scroll"><table><thead><tr><th scope="col">Label</th><th scope="col">Value</th></tr></thead>
<tbody>${labels.map(([key, v]) => html`<tr><td><code>${key}</code></td><td>${v as string}</td></tr>`)}</tbody></table></div>`
    : html`<p class="muted">none</p>`
}
<h3>History</h3>
${
  history.length
    ? html`<div class="scroll"><table><thead><tr><th scope="col">Created</th><th scope="col">Step</th><th scope="col">Layer</th></tr></thead>
<tbody>${history.map(
        (h) => html`<tr><td>${typeof h?.created === "string" ? createdAt(h.created) : ""}</td><td><code>${typeof h?.created_by === "string" ? h.created_by : ""}</code>${
          typeof h?.comment === "string" && h.comment ? html` <span class="muted">${h.comment}</span>` : ""
        }</td><td>${h?.empty_layer ? html`<span class="muted">empty</span>` : "layer"}</td></tr>`,
      )}</tbody></table></div>`
    : html`<p class="muted">none</p>`
}`;
}

function createdAt(s: string): string {
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : when(d);
}
