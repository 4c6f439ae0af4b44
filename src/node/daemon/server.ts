/**
 * `wharf daemon`: a Docker Engine API server, in one of two modes.
 *
 *   front (`--forward ADDR`)  every request passes through to a real Docker daemon (forward.ts), except
 *                             pushes to a named registry, which Wharf does itself (push-through.ts)
 *   store (`--data-root DIR`) the daemon's own image store (store/), no Docker daemon at all; the
 *                             version is negotiated here (api-version.ts) and what it does not serve is 501
 *
 * Owns: src/node/daemon/ (options, listeners, version negotiation, forwarding, push-through, the image
 * store, the jsonmessage writer, errors).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { UsageError } from "../cli/args";
import { defaultLayerCachePath, LayerCache } from "../transfer/layer-cache";
import { negotiate, pingHeaders, splitVersion } from "./api-version";
import { notImplemented, sendError } from "./errors";
import { Forwarder, parseUpstream } from "./forward";
import { type Ctx, match } from "./http";
import { type App, startListeners } from "./listeners";
import { DAEMON_USAGE, type DaemonOptions, parseDaemonOptions } from "./options";
import { isPushToRegistry, pushThrough } from "./push-through";
import { registryClients } from "./registry-auth";
import { ImageStore } from "./store/image-store";
import { storeRoutes } from "./store/routes";

function context(req: IncomingMessage, res: ServerResponse, path: string, version: string, params: string[] = []): Ctx {
  return { req, res, url: new URL(req.url ?? "/", "http://docker"), path, version, params };
}

export function frontApp(opts: DaemonOptions & { mode: { kind: "front" } }): App & { close(): void } {
  const forwarder = new Forwarder(parseUpstream(opts.mode.forward));
  const clients = registryClients(opts.insecureRegistries);
  const deps = { forwarder, clients, chunkSize: opts.chunkSize, layerCache: () => new LayerCache(defaultLayerCachePath()) };
  return {
    async request(req, res) {
      const url = new URL(req.url ?? "/", "http://docker");
      const { path, version } = splitVersion(url.pathname);
      const name = isPushToRegistry(req.method ?? "", path);
      if (!name) return forwarder.forward(req, res);
      try {
        await pushThrough(context(req, res, path, version), deps, name);
      } catch (e) {
        sendError(res, e);
      }
    },
    upgrade: (req, socket, head) => forwarder.upgrade(req, socket, head),
    close: () => forwarder.close(),
  };
}

export async function storeApp(opts: DaemonOptions & { mode: { kind: "store" } }): Promise<App> {
  const store = await ImageStore.open(opts.mode.dataRoot);
  const routes = storeRoutes({ store, clients: registryClients(opts.insecureRegistries), chunkSize: opts.chunkSize });
  return {
    async request(req, res) {
      try {
        for (const [k, v] of Object.entries(pingHeaders())) res.setHeader(k, v);
        const url = new URL(req.url ?? "/", "http://docker");
        const { path, version } = negotiate(url.pathname);
        const found = match(routes, req.method ?? "GET", path);
        if (!found) throw notImplemented(req.method ?? "GET", path, "image store mode");
        await found.handler(context(req, res, path, version, found.params));
      } catch (e) {
        req.resume();
        sendError(res, e);
      }
    },
    upgrade(req, socket) {
      const body = JSON.stringify({ message: notImplemented(req.method ?? "POST", req.url ?? "", "image store mode").message });
      socket.end(`HTTP/1.1 501 Not Implemented\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    },
  };
}

export interface DaemonIo {
  err: (s: string) => void;
  out: (s: string) => void;
  /** Resolves when the daemon should stop (SIGINT/SIGTERM). */
  stopSignal?: Promise<string>;
}

function signals(): Promise<string> {
  return new Promise((resolve) => {
    for (const s of ["SIGINT", "SIGTERM"] as const) process.once(s, () => resolve(s));
  });
}

/** The `wharf daemon` command: runs until SIGINT/SIGTERM. Exit code 0, 1 (failure) or 2 (usage). */
export async function daemonCommand(argv: string[], io: DaemonIo): Promise<number> {
  let opts: DaemonOptions;
  try {
    const parsed = parseDaemonOptions(argv);
    if (parsed === "help") {
      io.out(`${DAEMON_USAGE}\n`);
      return 0;
    }
    opts = parsed;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`wharf daemon: ${e.message}\n${DAEMON_USAGE}\n`);
    return 2;
  }
  const stop = io.stopSignal ?? signals();
  let app: App & { close?: () => void };
  try {
    app = opts.mode.kind === "front" ? frontApp(opts as DaemonOptions & { mode: { kind: "front" } }) : await storeApp(opts as DaemonOptions & { mode: { kind: "store" } });
    const running = await startListeners(opts, app);
    const what = opts.mode.kind === "front" ? `front of the Docker daemon at ${opts.mode.forward}` : `image store in ${opts.mode.dataRoot}`;
    io.err(`wharf daemon: listening on ${running.addresses.join(", ")} (${what})\n`);
    const signal = await stop;
    io.err(`wharf daemon: ${signal}: finishing requests in flight (up to ${opts.shutdownTimeoutMs} ms)\n`);
    await running.shutdown();
    app.close?.();
    io.err("wharf daemon: stopped\n");
    return 0;
  } catch (e) {
    io.err(`wharf daemon: ${(e as Error).message}\n`);
    return 1;
  }
}
