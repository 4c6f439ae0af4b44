/**
 * Front mode's pass-through: every request goes to the real Docker daemon unchanged (method, path with
 * its /v1.xx prefix, headers, body streamed both ways), so the docker CLI negotiates its version with
 * that daemon through `/_ping` and every command keeps working.
 *
 * Hijacked connections (attach, exec start, and anything else that asks `Connection: Upgrade`):
 * the request head is written as received onto a raw connection to the daemon, and from then on bytes
 * are copied both ways until either side closes. The daemon's `101 Switching Protocols` (or its refusal)
 * reaches the client untouched.
 */
import { type IncomingMessage, request as httpRequest, Agent, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { DaemonError, sendError } from "./errors";

export interface Upstream {
  /** "unix:///var/run/docker.sock" or "tcp://127.0.0.1:2375", as given. */
  address: string;
  socketPath?: string;
  host?: string;
  port?: number;
}

export function parseUpstream(address: string): Upstream {
  const unix = /^unix:\/\/(\/.+)$/.exec(address);
  if (unix) return { address, socketPath: unix[1] };
  const tcp = /^(?:tcp|http):\/\/([^/:]+|\[[^\]]+\]):(\d+)\/?$/.exec(address);
  if (tcp) return { address, host: tcp[1].replace(/^\[|\]$/g, ""), port: Number(tcp[2]) };
  throw new Error(`--forward ${address}: expected unix:///path/docker.sock or tcp://host:port`);
}

export class Forwarder {
  private agent = new Agent({ keepAlive: true, maxSockets: 256 });

  constructor(readonly upstream: Upstream) {}

  private target() {
    const u = this.upstream;
    return u.socketPath ? { socketPath: u.socketPath } : { host: u.host, port: u.port };
  }

  /** A request of our own to the daemon (used by push-through: export and inspect). */
  request(method: string, path: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const r = httpRequest({ ...this.target(), agent: this.agent, method, path, headers: { Host: "docker", ...headers } }, resolve);
      r.on("error", (e) => reject(new DaemonError(502, `Docker daemon at ${this.upstream.address}: ${e.message}`)));
      r.end();
    });
  }

  /** Pass one request through. */
  forward(req: IncomingMessage, res: ServerResponse): void {
    const up = httpRequest({ ...this.target(), agent: this.agent, method: req.method, path: req.url, headers: req.headers }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.statusMessage, ures.headers);
      res.flushHeaders();
      ures.pipe(res);
      ures.on("error", () => res.destroy());
    });
    up.on("error", (e) => {
      if (!res.headersSent) sendError(res, new DaemonError(502, `Docker daemon at ${this.upstream.address}: ${e.message}`));
      else res.destroy();
    });
    // The client went away (docker CLI interrupted): stop the daemon's side too.
    res.on("close", () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }

  /** Pass a hijacked (upgraded) connection through, byte for byte. */
  upgrade(req: IncomingMessage, client: Duplex, head: Buffer): void {
    const t = this.target();
    const upstream: Socket = t.socketPath ? connect(t.socketPath) : connect(t.port!, t.host!);
    const fail = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on("error", (e) => {
      if (client.writable) client.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify({ message: `Docker daemon at ${this.upstream.address}: ${e.message}` })}\n`);
      upstream.destroy();
    });
    client.on("error", fail);
    upstream.on("connect", () => {
      let headText = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) headText += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      upstream.write(`${headText}\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("close", () => client.end());
    client.on("close", () => upstream.end());
  }

  close(): void {
    this.agent.destroy();
  }
}
