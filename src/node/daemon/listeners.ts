/**
 * The daemon's listeners: HTTP on unix sockets, HTTP or HTTPS (mutual TLS with --tlsverify) on TCP, all
 * feeding one application. Here too: the read timeout (Node's requestTimeout: the whole request,
 * headers and body), the write timeout (from the request's arrival to the end of its answer; hijacked
 * connections are exempt, as in dockerd), the limit on concurrent requests (503 with Docker's JSON
 * error beyond it; an upgraded connection counts while it is open), and graceful shutdown: stop
 * accepting, let requests in flight finish for up to the shutdown timeout, then cut what is left and
 * remove the unix sockets.
 */
import { chmod, rm } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { DaemonError, sendError } from "./errors";
import type { DaemonOptions, Listener } from "./options";

export interface App {
  request(req: IncomingMessage, res: ServerResponse): Promise<void>;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export interface Running {
  addresses: string[];
  /** Stop accepting, wait for requests in flight (up to the shutdown timeout), close everything. */
  shutdown(): Promise<void>;
}

/** A unix socket path left over by a daemon that died is removed; one that answers is in use. */
async function claimSocket(path: string): Promise<void> {
  const live = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
  if (live) throw new Error(`${path} is in use by another daemon`);
  await rm(path, { force: true });
}

export async function startListeners(opts: DaemonOptions, app: App): Promise<Running> {
  let active = 0;
  const upgraded = new Set<Duplex>();
  let draining = false;
  const idle: (() => void)[] = [];
  const settle = () => {
    if (active === 0) for (const f of idle.splice(0)) f();
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (active >= opts.maxConcurrentRequests) {
      req.resume();
      return sendError(res, new DaemonError(503, `wharf daemon: more than ${opts.maxConcurrentRequests} requests at once (--max-concurrent-requests); try again`));
    }
    active++;
    let timer: NodeJS.Timeout | null = null;
    if (opts.writeTimeoutMs > 0) {
      timer = setTimeout(() => res.destroy(new Error("write timeout")), opts.writeTimeoutMs);
    }
    res.once("close", () => {
      if (timer) clearTimeout(timer);
      active--;
      settle();
    });
    if (draining) res.setHeader("Connection", "close");
    app.request(req, res).catch((err) => sendError(res, err));
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (active >= opts.maxConcurrentRequests) {
      socket.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify({ message: "wharf daemon: too many requests at once" })}\n`);
      return;
    }
    active++;
    upgraded.add(socket);
    socket.once("close", () => {
      upgraded.delete(socket);
      active--;
      settle();
    });
    app.upgrade(req, socket, head);
  };

  const servers: { server: Server; listener: Listener }[] = [];
  try {
    for (const l of opts.listeners) {
      const tls = l.kind === "tcp" ? opts.tls : null;
      const server: Server = tls
        ? createHttpsServer({ cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: tls.verify, rejectUnauthorized: tls.verify })
        : createHttpServer();
      server.requestTimeout = opts.readTimeoutMs;
      server.headersTimeout = opts.readTimeoutMs > 0 ? Math.min(opts.readTimeoutMs, 60_000) : 60_000;
      server.keepAliveTimeout = 60_000;
      server.on("request", onRequest);
      server.on("upgrade", onUpgrade);
      if (l.kind === "unix") await claimSocket(l.path);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        if (l.kind === "unix") server.listen(l.path, resolve);
        else server.listen(l.port, l.host, resolve);
      });
      if (l.kind === "unix") await chmod(l.path, 0o660);
      servers.push({ server, listener: l });
    }
  } catch (e) {
    for (const { server } of servers) server.close();
    throw e;
  }

  const addresses = servers.map(({ server, listener }) => {
    if (listener.kind === "unix") return listener.address;
    const a = server.address();
    const port = typeof a === "object" && a ? a.port : listener.port;
    return `tcp://${listener.host.includes(":") ? `[${listener.host}]` : listener.host}:${port}`;
  });

  return {
    addresses,
    async shutdown() {
      draining = true;
      const closed = servers.map(({ server }) => new Promise<void>((r) => server.close(() => r())));
      for (const { server } of servers) server.closeIdleConnections();
      await Promise.race([
        new Promise<void>((r) => {
          idle.push(r);
          settle();
        }),
        new Promise<void>((r) => setTimeout(r, opts.shutdownTimeoutMs).unref()),
      ]);
      for (const { server } of servers) server.closeAllConnections();
      for (const s of upgraded) s.destroy();
      await Promise.all(closed);
      for (const { listener } of servers) if (listener.kind === "unix") await rm(listener.path, { force: true });
    },
  };
}
