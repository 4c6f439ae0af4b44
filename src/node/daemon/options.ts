/**
 * `wharf daemon` options, with dockerd's names where dockerd has one: `-H` (repeatable), `--tlscert`,
 * `--tlskey`, `--tlsverify`, `--tlscacert`, `--data-root`, `--insecure-registry`; plus `--forward`
 * (front of a real Docker daemon), timeouts and a limit on concurrent requests.
 *
 * Safety rule: a TCP listener on an address other than loopback needs `--tlsverify` (clients must show
 * a certificate signed by `--tlscacert`). Whoever reaches the Engine API has the daemon's power (in
 * front mode, root on the host through `docker run`), and TLS without client verification lets anyone in.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { parseSize, UsageError } from "../cli/args";

export type Listener = { kind: "unix"; path: string; address: string } | { kind: "tcp"; host: string; port: number; address: string };

export interface Tls {
  cert: Buffer;
  key: Buffer;
  /** Set with --tlsverify: client certificates must chain to it. */
  ca?: Buffer;
  verify: boolean;
}

export interface DaemonOptions {
  listeners: Listener[];
  mode: { kind: "front"; forward: string } | { kind: "store"; dataRoot: string };
  tls: Tls | null;
  /** Milliseconds; 0 = no limit. */
  readTimeoutMs: number;
  writeTimeoutMs: number;
  shutdownTimeoutMs: number;
  maxConcurrentRequests: number;
  chunkSize?: number;
  insecureRegistries: string[];
}

export const DAEMON_USAGE = `usage: wharf daemon -H <unix:///path.sock|tcp://host:port>... (--forward <unix:///var/run/docker.sock> | --data-root <dir>)

  -H, --host ADDR               listen here (repeatable): unix:///path.sock, tcp://127.0.0.1:2375
  --forward ADDR                front of a Docker daemon: pass every request through, push with Wharf's client
  --data-root DIR               own image store (no Docker daemon): pull, push, tag, images, save, load ...
  --tlscert FILE --tlskey FILE  serve TCP listeners over TLS
  --tlsverify --tlscacert FILE  require client certificates signed by this CA (needed off loopback)
  --read-timeout D              longest time to read a request, headers and body (default 0: none)
  --write-timeout D             longest time to answer a request (default 0: none; hijacked streams exempt)
  --shutdown-timeout D          on SIGTERM/SIGINT, wait this long for requests in flight (default 15s)
  --max-concurrent-requests N   answer 503 beyond this many requests at once (default 256)
  --chunk-size SIZE             chunk size for pushes (default 16MiB, fitted to what the registry advertises)
  --insecure-registry HOST      reach this registry over plain HTTP (loopback hosts always are)
durations: 30s, 5m, 1h, 500ms, or seconds`;

const OPTIONS = {
  host: { type: "string", short: "H", multiple: true },
  forward: { type: "string" },
  "data-root": { type: "string" },
  tls: { type: "boolean" },
  tlscert: { type: "string" },
  tlskey: { type: "string" },
  tlscacert: { type: "string" },
  tlsverify: { type: "boolean" },
  "read-timeout": { type: "string" },
  "write-timeout": { type: "string" },
  "shutdown-timeout": { type: "string" },
  "max-concurrent-requests": { type: "string" },
  "chunk-size": { type: "string" },
  "insecure-registry": { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
} as const;

export function parseDuration(s: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new UsageError(`${what}: bad duration "${s}" (examples: 30s, 5m, 500ms)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "s"];
  return Math.round(Number(m[1]) * unit);
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127(?:\.\d{1,3}){3}$/.test(host);
}

export function parseListener(addr: string): Listener {
  const unix = /^unix:\/\/(\/.+)$/.exec(addr);
  if (unix) return { kind: "unix", path: unix[1], address: addr };
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^/:]*):(\d+)$/.exec(addr);
  if (tcp) {
    const host = tcp[1].replace(/^\[|\]$/g, "");
    const port = Number(tcp[2]);
    if (port > 65535) throw new UsageError(`-H ${addr}: bad port`);
    if (host && host !== "localhost" && !isIP(host)) throw new UsageError(`-H ${addr}: the host must be an IP address or localhost`);
    return { kind: "tcp", host: host || "0.0.0.0", port, address: addr };
  }
  throw new UsageError(`-H ${addr}: expected unix:///path.sock or tcp://host:port`);
}

/** Parse and check; `read` reads certificate files (tests pass their own). */
export function parseDaemonOptions(argv: string[], read: (path: string) => Buffer = (p) => readFileSync(p)): DaemonOptions | "help" {
  let values: { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K] extends { multiple: true } ? string[] : (typeof OPTIONS)[K]["type"] extends "boolean" ? boolean : string };
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false, strict: true }) as unknown as { values: typeof values });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return "help";
  const hosts = values.host ?? [];
  if (!hosts.length) throw new UsageError("say where to listen: -H unix:///path/wharf.sock and/or -H tcp://127.0.0.1:2375");
  const listeners = hosts.map(parseListener);
  if (Boolean(values.forward) === Boolean(values["data-root"])) {
    throw new UsageError("choose one mode: --forward unix:///var/run/docker.sock (front of a Docker daemon) or --data-root DIR (own image store)");
  }
  const verify = Boolean(values.tlsverify);
  let tls: Tls | null = null;
  if (values.tlscert || values.tlskey || values.tls || verify) {
    if (!values.tlscert || !values.tlskey) throw new UsageError("TLS needs both --tlscert and --tlskey");
    if (verify && !values.tlscacert) throw new UsageError("--tlsverify needs --tlscacert (the CA that signs client certificates)");
    tls = { cert: read(values.tlscert), key: read(values.tlskey), ca: values.tlscacert ? read(values.tlscacert) : undefined, verify };
  }
  for (const l of listeners) {
    if (l.kind === "tcp" && !isLoopback(l.host) && !verify) {
      throw new UsageError(
        `-H ${l.address}: refusing a TCP listener off loopback without --tlsverify: whoever reaches it gets the daemon's power ` +
        "(listen on tcp://127.0.0.1:PORT or a unix socket, or add --tlsverify --tlscacert --tlscert --tlskey)",
      );
    }
  }
  const count = values["max-concurrent-requests"] !== undefined ? Number(values["max-concurrent-requests"]) : 256;
  if (!Number.isSafeInteger(count) || count < 1) throw new UsageError(`--max-concurrent-requests must be a positive integer`);
  return {
    listeners,
    mode: values.forward ? { kind: "front", forward: values.forward } : { kind: "store", dataRoot: values["data-root"]! },
    tls,
    readTimeoutMs: values["read-timeout"] ? parseDuration(values["read-timeout"], "--read-timeout") : 0,
    writeTimeoutMs: values["write-timeout"] ? parseDuration(values["write-timeout"], "--write-timeout") : 0,
    shutdownTimeoutMs: values["shutdown-timeout"] ? parseDuration(values["shutdown-timeout"], "--shutdown-timeout") : 15_000,
    maxConcurrentRequests: count,
    chunkSize: values["chunk-size"] ? parseSize(values["chunk-size"]) : undefined,
    insecureRegistries: values["insecure-registry"] ?? [],
  };
}
