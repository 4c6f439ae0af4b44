/** Copyable pull commands for the common clients, by tag and by digest. */
import type { UiContext } from "./context";
import { type Html, html } from "./html";
import { isLoopback } from "./session";

export interface Command {
  tool: string;
  text: string;
}

export function pullCommands(c: UiContext, name: string, reference: string): Command[] {
  const ref = `${c.url.host}/${name}${reference.startsWith("sha256:") || reference.startsWith("sha512:") ? "@" : ":"}${reference}`;
  const plain = c.url.protocol === "http:";
  // docker treats 127.0.0.0/8 as insecure by default; other plain-HTTP hosts need insecure-registries.
  const file = name.split("/").pop() ?? "image";
  return [
    { tool: "docker", text: `docker pull ${ref}` },
    { tool: "podman", text: `podman pull ${plain ? "--tls-verify=false " : ""}${ref}` },
    { tool: "skopeo", text: `skopeo copy ${plain ? "--src-tls-verify=false " : ""}docker://${ref} oci:${file}` },
    { tool: "crane", text: `crane pull ${plain && !isLoopback(c.url) ? "--insecure " : ""}${ref} ${file}.tar` },
    { tool: "wharf", text: `wharf pull ${plain && !isLoopback(c.url) ? "--insecure " : ""}${ref} ${file}.tar` },
  ];
}

export function commandList(cmds: Command[], label: string): Html {
  return html`<div class="cmds" role="list" aria-label="${label}">${cmds.map(
    (cmd) => html`<div class="cmd" role="listitem"><span class="tool">${cmd.tool}</span><code>${cmd.text}</code><button type="button" data-copy="${cmd.text}" hidden aria-label="Copy ${cmd.tool} command">Copy</button></div>`,
  )}</div>`;
}

/** One copyable line. */
export function copyable(text: string, label: string): Html {
  return html`<div class="cmd"><code>${text}</code><button type="button" data-copy="${text}" hidden aria-label="Copy ${label}">Copy</button></div>`;
}

/** A copyable file or snippet of several lines. */
export function copyableBlock(text: string, label: string): Html {
  return html`<div class="cmd block"><pre><code>${text}</code></pre><button type="button" data-copy="${text}" hidden aria-label="Copy ${label}">Copy</button></div>`;
}
