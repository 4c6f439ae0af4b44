/**
 * The getting-started page's pull-through cache section, from the UPSTREAMS setting (src/worker/proxy/):
 * the proxy prefixes a visitor may pull through, and, when one upstream is the mirror, the exact dockerd
 * `daemon.json` and containerd `hosts.toml` that send plain pulls (`docker pull alpine`) through this
 * registry's own host. Shows each upstream's prefix and origin only: never its credentials (the setting
 * is a secret for them), and a prefix only to visitors who may pull through it, as the API decides.
 */
import type { Upstream } from "../../proxy/upstreams";
import { type UiContext, mayView } from "../context";
import { type Html, html } from "../html";
import { copyable, copyableBlock } from "../pull-commands";
import { isLoopback } from "../session";

const DOCKER_HUB = "https://registry-1.docker.io";

export const UPSTREAMS_EXAMPLE = `[{ "prefix": "hub", "url": "${DOCKER_HUB}", "mirror": true }]`;

/** A repository under the upstream's prefix to show in examples: `hub/alpine`, `ghcr/myorg/app`. */
export function exampleRepository(u: Upstream): string {
  const pattern = u.repositories?.[0];
  const upstreamRepo = pattern ? pattern.replace(/\*+/g, "app") : u.library ? "alpine" : "org/app";
  return `${u.prefix}/${upstreamRepo}`;
}

/** The registry as dockerd and containerd address it: this page's origin. */
function selfOrigin(c: UiContext): string {
  return c.url.origin;
}

export function mirrorSection(c: UiContext): Html {
  const upstreams = c.settings.UPSTREAMS;
  if (!upstreams.length) {
    return html`<h2 id="mirror">Pull-through cache</h2>
<p>This registry caches no other registry yet. Its operator can make it a pull-through cache of Docker Hub (or GHCR, Quay, any OCI registry) with the <code>UPSTREAMS</code> setting, a secret (<code>wrangler secret put UPSTREAMS</code>; for <code>npm start</code>, the environment):</p>
${copyableBlock(UPSTREAMS_EXAMPLE, "UPSTREAMS example")}
<p>Then <code>docker pull ${c.url.host}/hub/alpine</code> works, and with <code>"mirror": true</code> this page shows the dockerd and containerd mirror settings. See the README, “Pull-through cache”.</p>`;
  }
  const visible = upstreams.filter((u) => mayView(c, exampleRepository(u)));
  const mirror = upstreams.find((u) => u.mirror);
  return html`<h2 id="mirror">Pull-through cache</h2>
${
  visible.length
    ? html`<p>This registry caches other registries: pull through a prefix and the first pull fetches and keeps what later pulls are served from.</p>
<div class="scroll"><table>
<thead><tr><th scope="col">Prefix</th><th scope="col">Caches</th><th scope="col">Pull, for example</th></tr></thead>
<tbody>${visible.map((u) => html`<tr><td><code>${u.prefix}/</code></td><td>${originOf(u)}${u.mirror ? html` <span class="muted">(the mirror)</span>` : ""}</td><td><code>docker pull ${c.url.host}/${exampleRepository(u)}</code></td></tr>`)}</tbody>
</table></div>`
    : html`<p>This registry caches other registries${c.viewer.session ? ", but none you may pull through" : ": sign in to see the ones you may pull through"}.</p>`
}
${mirror ? mirrorSettings(c, mirror) : ""}`;
}

function originOf(u: Upstream): string {
  return new URL(u.url).host;
}

function mirrorSettings(c: UiContext, mirror: Upstream): Html {
  const origin = selfOrigin(c);
  const plain = c.url.protocol === "http:";
  const hub = mirror.url === DOCKER_HUB;
  const upstreamHost = hub ? "docker.io" : originOf(mirror);
  const daemon = JSON.stringify(plain ? { "registry-mirrors": [origin], "insecure-registries": [insecureEntry(c)] } : { "registry-mirrors": [origin] }, null, 2);
  const hosts = `server = "${mirror.url}"

[host."${origin}"]
  capabilities = ["pull", "resolve"]
`;
  return html`<h3>Use it as a mirror</h3>
<p>Names under no prefix are looked up on <code>${originOf(mirror)}</code>, so clients can send their plain pulls here (<code>docker pull alpine</code>) and fall back to the upstream when this registry cannot answer.</p>
${
  hub
    ? html`<p><strong>dockerd</strong>: <code>/etc/docker/daemon.json</code> (merged into any settings already there), then <code>systemctl restart docker</code>${plain ? " (this registry is served over plain HTTP, hence insecure-registries)" : ""}:</p>
${copyableBlock(daemon, "daemon.json")}`
    : html`<p><strong>dockerd</strong> uses <code>registry-mirrors</code> for Docker Hub images only, and this registry mirrors <code>${originOf(mirror)}</code>: pull through the prefix instead (<code>docker pull ${c.url.host}/${exampleRepository(mirror)}</code>).</p>`
}
<p><strong>containerd</strong> (and nerdctl, BuildKit): <code>/etc/containerd/certs.d/${upstreamHost}/hosts.toml</code>, with <code>config_path = "/etc/containerd/certs.d"</code> in the CRI plugin's <code>registry</code> section:</p>
${copyable(`sudo mkdir -p /etc/containerd/certs.d/${upstreamHost}`, "mkdir command")}
${copyableBlock(hosts, "hosts.toml")}`;
}

/** What insecure-registries needs for this host: loopback as a range, else host:port. */
function insecureEntry(c: UiContext): string {
  return isLoopback(c.url) && /^127\./.test(c.url.hostname) ? "127.0.0.0/8" : c.url.host;
}
