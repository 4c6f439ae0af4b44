/** GET /getting-started: docker login, CI tokens, and the pull-through cache's prefixes and mirror settings (mirrors.ts). */
import type { UiHandler } from "../context";
import { html } from "../html";
import { page } from "../layout";
import { copyable } from "../pull-commands";
import { isLoopback } from "../session";
import { mirrorSection } from "./mirrors";

export const gettingStartedPage: UiHandler = async (c) => {
  const host = c.url.host;
  const plain = c.url.protocol === "http:";
  const auth = c.auth;
  const login = auth.configured ? `docker login ${host} -u <user>` : auth.signingSecret ? `docker login ${host} -u ci -p <CI token>` : "";
  const body = html`<h1>Getting started</h1>
<h2>Sign in from the command line</h2>
${
  login
    ? html`${copyable(login, "docker login command")}
<p>Any client that speaks Docker's token flow works the same way: <code>podman login</code>, <code>skopeo login</code>, <code>crane auth login</code>, <code>wharf login ${host} -u &lt;user&gt;</code>.</p>`
    : html`<p>This registry has no authentication configured: pulls need no login.</p>`
}
${plain && !isLoopback(c.url) ? html`<p class="notice">This registry is served over plain HTTP: docker needs it in <code>insecure-registries</code> (<code>/etc/docker/daemon.json</code>), podman and skopeo <code>--tls-verify=false</code>.</p>` : ""}
<h2>Push an image</h2>
${copyable(`docker tag myimage ${host}/apps/myimage:1.0`, "docker tag command")}
${copyable(`docker push ${host}/apps/myimage:1.0`, "docker push command")}
${auth.signingSecret ? ciSection(host) : ""}
${mirrorSection(c)}`;
  return page(c, { title: "Getting started", body, crumbs: [["Repositories", "/"], ["Getting started"]] });
};

function ciSection(host: string) {
  return html`<h2>A token for CI</h2>
<p>CI tokens are minted offline by whoever holds the registry's <code>AUTH_SIGNING_SECRET</code>, scoped to repository patterns and actions, and used as the password with any user name:</p>
${copyable(`AUTH_SIGNING_SECRET=... wharf token create --repo 'ci/*' --actions pull,push --ttl 30d`, "token command")}
${copyable(`echo "$WHARF_TOKEN" | docker login ${host} -u ci --password-stdin`, "CI login command")}
<p>Revoke one by adding its id to <code>AUTH_REVOKED_TOKENS</code>. A CI token also signs in to these pages (“Sign in”, token field).</p>`;
}
