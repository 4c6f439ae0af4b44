/**
 * `wharf`: push and pull docker save archives and OCI layouts, copy between registries, list and
 * inspect, delete, log in. Run as `npx wharf <command> ...` (bin/wharf.mjs runs this file through tsx).
 * Exit codes: 0 success, 1 failure, 2 usage error.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { choosePlatform, formatPlatform, type ImageIndex, type ImageManifest, INDEX_TYPES, parseJson } from "../archive/oci";
import { RegistryClientError } from "../../client/errors";
import { nodeClient } from "../client";
import { formatReference, ImageReferenceError, parseHost, parseImageReference, referenceTarget } from "../../client/reference";
import type { RegistryClient } from "../../client/registry";
import { copyImage } from "../transfer/copy";
import { pullImages } from "../transfer/pull";
import { defaultLayerCachePath, LayerCache } from "../transfer/layer-cache";
import { pushArchive } from "../transfer/push";
import { compressionLevelOption, formatOption, parseSize, platformOption, UsageError } from "./args";
import { findCredentials, removeCredentials, saveCredentials } from "./credentials";
import { gcCommand } from "./gc";
import { hashPasswordCommand } from "./hash-password";
import { daemonCommand } from "../daemon/server";
import { type CommandIO, tokenCommand } from "./token";
import { humanSize, jsonRenderer, plainRenderer, type Renderer, ttyRenderer } from "./progress";

const USAGE = `usage: wharf <command> [options]

  push <archive.tar|layout-dir> <host[:port]/repo[:tag]>   push a docker save archive or OCI layout
       [--chunk-size 16MiB] [--image repo:tag|N] [--platform os/arch] [--no-cache]
       [--compression-level 1-9]                            gzip level for a docker archive's layers (default 6)
  pull <ref>... <out.tar|dir> [--format docker|oci] [--platform os/arch|all]
  copy <src-ref> <dst-ref> [--platform os/arch]            registry to registry (mounts or skips blobs)
  tags <host/repo>                                          list tags
  catalog <host>                                            list repositories
  inspect <ref> [--platform os/arch]                        digest, media type, platforms, layers, sizes
  rm <ref>                                                  delete a tag or a manifest by digest
  gc <host> [--dry-run]                                     run garbage collection, wait, print its report
  gc --status <host>                                        the run in progress and the last runs
  login <host> [-u user] [-p password | --password-stdin]
  logout <host>
  token create --repo <pattern> --actions pull,push [--ttl 30d]   mint a scoped CI token (AUTH_SIGNING_SECRET)
  hash-password < password                                  a password hash for AUTH_CONFIG
  daemon -H unix:///path.sock (--forward unix:///var/run/docker.sock | --data-root DIR)
                                                            Docker Engine API for the docker CLI ("wharf daemon --help")

common options: --json (Docker jsonmessage lines / JSON output), --insecure (plain HTTP to a non-loopback host),
  --retries N. Loopback hosts use plain HTTP; others HTTPS.`;

const OPTIONS = {
  json: { type: "boolean" },
  insecure: { type: "boolean" },
  retries: { type: "string" },
  "chunk-size": { type: "string" },
  "compression-level": { type: "string" },
  image: { type: "string" },
  platform: { type: "string" },
  format: { type: "string" },
  username: { type: "string", short: "u" },
  password: { type: "string", short: "p" },
  "password-stdin": { type: "boolean" },
  "no-cache": { type: "boolean" },
  "dry-run": { type: "boolean" },
  status: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]["type"] extends "boolean" ? boolean : string };

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  isTTY: boolean;
  stdin: () => Promise<string>;
}

const defaultIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  isTTY: Boolean(process.stdout.isTTY),
  stdin: async () => {
    let data = "";
    for await (const c of process.stdin) data += c;
    return data;
  },
};

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  // The auth commands (src/node/cli/token.ts, hash-password.ts) parse their own options.
  if (argv[0] === "token") return tokenCommand(argv.slice(1), commandIo(io));
  if (argv[0] === "hash-password") return hashPasswordCommand(argv.slice(1), await io.stdin(), commandIo(io));
  if (argv[0] === "daemon") return daemonCommand(argv.slice(1), { out: io.out, err: io.err });
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] });
  } catch (e) {
    io.err(`wharf: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const [command, ...args] = positionals;
  if (!command || values.help) {
    io.out(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  const renderer: Renderer = values.json ? jsonRenderer(io.out) : io.isTTY ? ttyRenderer(io.out) : plainRenderer(io.out);
  const retries = values.retries !== undefined ? Number(values.retries) : undefined;
  const client = (host: string) => nodeClient(host, {
    insecure: values.insecure,
    credentials: findCredentials,
    retry: retries !== undefined && Number.isFinite(retries) ? { retries } : undefined,
  });
  try {
    const run = COMMANDS[command];
    if (!run) throw new UsageError(`unknown command "${command}"`);
    const code = await run(args, values, io, client, renderer);
    renderer.end();
    return code;
  } catch (e) {
    renderer.end();
    const msg = errorMessage(e);
    if (values.json) renderer.error(msg);
    io.err(`wharf: ${msg}\n`);
    if (e instanceof UsageError || e instanceof ImageReferenceError) {
      io.err(`run "wharf --help" for usage\n`);
      return 2;
    }
    return 1;
  }
}

function errorMessage(e: unknown): string {
  if (e instanceof RegistryClientError) return e.message + (e.status ? ` (HTTP ${e.status})` : "");
  if (e instanceof Error) return e.message;
  return String(e);
}

function need(args: string[], n: number, what: string): void {
  if (args.length < n) throw new UsageError(`missing ${what}`);
}

type Run = (args: string[], v: Values, io: Io, client: (host: string) => RegistryClient, r: Renderer) => Promise<number>;

const COMMANDS: Record<string, Run> = {
  async push(args, v, _io, client, r) {
    need(args, 2, "arguments: wharf push <archive|layout> <host/repo:tag>");
    const dest = parseImageReference(args[1]);
    if (dest.digest) throw new UsageError("push needs a tag, not a digest");
    await pushArchive(client(dest.host), args[0], dest, {
      events: r,
      chunkSize: v["chunk-size"] ? parseSize(v["chunk-size"]) : undefined,
      image: v.image,
      platform: v.platform ? platformOption(v.platform) ?? undefined : undefined,
      layerCache: v["no-cache"] ? null : new LayerCache(defaultLayerCachePath()),
      compressionLevel: compressionLevelOption(v["compression-level"]),
    });
    return 0;
  },

  async pull(args, v, _io, client, r) {
    need(args, 2, "arguments: wharf pull <ref>... <out.tar|dir>");
    const out = args[args.length - 1];
    const refs = args.slice(0, -1).map(parseImageReference);
    const hosts = new Set(refs.map((x) => x.host));
    if (hosts.size > 1) throw new UsageError("pull from one registry at a time");
    const format = formatOption(v.format, out);
    await pullImages(client(refs[0].host), refs, out, { format, platform: platformOption(v.platform), events: r });
    r.status(`Status: Downloaded ${refs.map(formatReference).join(", ")} to ${out} (${format})`);
    return 0;
  },

  async copy(args, v, _io, client, r) {
    need(args, 2, "arguments: wharf copy <src-ref> <dst-ref>");
    const from = parseImageReference(args[0]);
    const to = parseImageReference(args[1]);
    const src = client(from.host);
    const dst = from.host === to.host ? src : client(to.host);
    await copyImage(src, from, dst, to, { events: r, platform: v.platform ? platformOption(v.platform) : null, chunkSize: v["chunk-size"] ? parseSize(v["chunk-size"]) : undefined });
    return 0;
  },

  async tags(args, v, io, client) {
    need(args, 1, "repository: wharf tags <host/repo>");
    const ref = parseImageReference(args[0]);
    const tags: string[] = [];
    for await (const t of client(ref.host).tags(ref.repository)) {
      if (v.json) tags.push(t);
      else io.out(`${t}\n`);
    }
    if (v.json) io.out(`${JSON.stringify({ name: ref.repository, tags })}\n`);
    return 0;
  },

  async gc(args, v, io, client) {
    need(args, 1, "host: wharf gc <host> [--dry-run] | wharf gc --status <host>");
    return gcCommand(client(parseHost(args[0])), { dryRun: !!v["dry-run"], status: !!v.status, json: !!v.json, out: io.out, err: io.err });
  },

  async catalog(args, v, io, client) {
    need(args, 1, "host: wharf catalog <host>");
    const repos: string[] = [];
    for await (const name of client(parseHost(args[0])).catalog()) {
      if (v.json) repos.push(name);
      else io.out(`${name}\n`);
    }
    if (v.json) io.out(`${JSON.stringify({ repositories: repos })}\n`);
    return 0;
  },

  async inspect(args, v, io, client) {
    need(args, 1, "reference: wharf inspect <ref>");
    const ref = parseImageReference(args[0]);
    const c = client(ref.host);
    const root = await c.getManifest(ref.repository, referenceTarget(ref));
    const info: Record<string, unknown> = { name: formatReference(ref), digest: root.digest, mediaType: root.mediaType, size: root.bytes.byteLength };
    let image = root;
    if (INDEX_TYPES.has(root.mediaType)) {
      const index = parseJson<ImageIndex>(root.bytes, "index");
      info.manifests = index.manifests.map((d) => ({ digest: d.digest, mediaType: d.mediaType, size: d.size, platform: formatPlatform(d.platform) }));
      if (!v.platform) {
        if (v.json) io.out(`${JSON.stringify(info, null, 2)}\n`);
        else {
          io.out(`Name:       ${info.name}\nDigest:     ${root.digest}\nMediaType:  ${root.mediaType}\nPlatforms:\n`);
          for (const d of index.manifests) io.out(`  ${formatPlatform(d.platform).padEnd(16)} ${d.digest}  ${humanSize(d.size)}\n`);
          io.out(`(add --platform os/arch to see one image's layers)\n`);
        }
        return 0;
      }
      const child = choosePlatform(index, platformOption(v.platform)!);
      image = await c.getManifest(ref.repository, child.digest);
      info.platformDigest = image.digest;
    }
    const m = parseJson<ImageManifest>(image.bytes, "manifest");
    info.config = m.config;
    info.layers = (m.layers ?? []).map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size }));
    const total = (m.layers ?? []).reduce((s, l) => s + l.size, 0) + (m.config?.size ?? 0);
    info.totalSize = total;
    if (m.config && /image\.config|container\.image/.test(m.config.mediaType)) {
      const cfg = parseJson<{ os?: string; architecture?: string; variant?: string }>(await c.getBlobBytes(ref.repository, m.config.digest), "config");
      info.platform = formatPlatform({ os: cfg.os ?? "?", architecture: cfg.architecture ?? "?", variant: cfg.variant });
    }
    if (v.json) {
      io.out(`${JSON.stringify(info, null, 2)}\n`);
      return 0;
    }
    io.out(`Name:       ${info.name}\nDigest:     ${info.digest}\nMediaType:  ${info.mediaType}\n`);
    if (info.platformDigest) io.out(`Image:      ${info.platformDigest}\n`);
    if (info.platform) io.out(`Platform:   ${info.platform}\n`);
    io.out(`Config:     ${m.config?.digest}  ${humanSize(m.config?.size ?? 0)}\nLayers:\n`);
    for (const l of m.layers ?? []) io.out(`  ${l.digest}  ${humanSize(l.size).padStart(8)}  ${l.mediaType}\n`);
    io.out(`Total size: ${humanSize(total)}\n`);
    return 0;
  },

  async rm(args, _v, io, client) {
    need(args, 1, "reference: wharf rm <ref>");
    const ref = parseImageReference(args[0]);
    if (!ref.tag && !ref.digest) throw new UsageError("rm needs a tag or a digest (host/repo:tag or host/repo@sha256:...)");
    await client(ref.host).deleteManifest(ref.repository, ref.digest ?? ref.tag!);
    io.out(`Deleted: ${formatReference(ref)}\n`);
    return 0;
  },

  async login(args, v, io) {
    need(args, 1, "host: wharf login <host>");
    const host = parseHost(args[0]);
    const username = v.username ?? process.env.WHARF_USERNAME;
    let password = v.password;
    if (v["password-stdin"]) password = (await io.stdin()).replace(/\r?\n$/, "");
    if (!username || password === undefined) throw new UsageError("login needs -u <user> and -p <password> or --password-stdin");
    const c = nodeClient(host, { insecure: v.insecure, credentials: () => ({ username, password: password! }) });
    // On a registry with auth, /v2/ answers 401 and the challenge is answered with these credentials
    // (Basic, or a token request that fails for wrong ones); an open registry accepts anything.
    await c.ping();
    const path = saveCredentials(host, { username, password });
    io.out(`Login Succeeded (credentials saved in ${path})\n`);
    return 0;
  },

  async logout(args, _v, io) {
    need(args, 1, "host: wharf logout <host>");
    const host = parseHost(args[0]);
    io.out(removeCredentials(host) ? `Removed login credentials for ${host}\n` : `Not logged in to ${host}\n`);
    return 0;
  },
};

/** I/O for the auth commands (src/node/cli/token.ts, hash-password.ts). */
function commandIo(io: Io): CommandIO {
  return {
    env: process.env,
    stdout: (line) => io.out(`${line}\n`),
    stderr: (line) => io.err(`${line}\n`),
    readFile: (path) => readFile(path, "utf8"),
  };
}
