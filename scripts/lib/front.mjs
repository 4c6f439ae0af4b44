// `npm start`'s TCP front (scripts/start.mjs says why it exists and where it sends connections).
// The first bytes of each connection: a TLS ClientHello gets Go's "HTTP/1.0 400 Bad Request" and is
// closed; an absolute-form request target gets a plain 400 and is closed; anything else is handed on
// untouched (firstBytes: `pass(buffer)` receives the bytes to send upstream first). frontServer copies
// the rest of the connection both ways, to and from the first upstream port that accepts it.
//
// Reading (answers and blob bodies from the upstream, requests and upload bodies from the client): each
// socket reads into one buffer of READ_BYTES, used again for the next read whenever nothing holds it,
// instead of node's fresh 64 KiB buffer per read. A write to the other socket either completes at once
// (the kernel took every byte: nothing refers to the buffer any more) or leaves bytes queued, which
// refer to the buffer. Past the socket's high-water mark the write returns false and reading stops
// until "drain", which comes once the queue is empty: the buffer is free again by the next read. Below
// it (writableLength > 0, no drain awaited) reading goes on, so the next read gets a fresh buffer.
// Measured, old and new minutes apart: 1 GiB to a fast client, 0.64-0.72 CPU-s instead of 1.13-1.22 and
// 0.92-1.08 s instead of 1.30-1.36 s (HAProxy 2.6 in TCP mode, earlier: 0.84-0.96 CPU-s); 1 GiB uploaded
// to a trivial server, 0.50-0.63 CPU-s instead of 0.90-1.10 and 0.73-0.90 s instead of 0.99-1.14 s;
// skopeo's 1 GiB push to Wharf (`npm run bench -- --only transfer --images big`), 0.62-0.68 CPU-s
// instead of 0.86-0.92 and the front's peak RSS 60-62 MiB instead of 94-95.
import { connect, createServer, Socket } from "node:net";

const TLS_HANDSHAKE = 0x16;
const TLS_ANSWER = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTPS request to an HTTP server.\n";
const ABSOLUTE_BODY = "Bad Request: absolute-form request targets are not supported here; send the path (origin form)\n";
const ABSOLUTE_ANSWER = `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ${ABSOLUTE_BODY.length}\r\n\r\n${ABSOLUTE_BODY}`;
/** "METHOD http://" or "METHOD https://": how an absolute-form request line starts. */
const ABSOLUTE_START = /^[A-Z]+ https?:\/\//i;
/** A prefix of that, too short to tell yet. */
const MAYBE_ABSOLUTE = /^[A-Z]+( (h(t(t(p(s?(:(\/\/?)?)?)?)?)?)?)?)?$/i;
const LOOK = 16;
const READ_BYTES = 256 * 1024;
/** Read buffers of connections that closed, for the next ones (each connection reads into two). */
const spare = [];
const SPARE_MAX = 32;

/**
 * The reader of a connection's first bytes: returns `take(bytes)`, fed each read (a copy is kept, the
 * caller may reuse `bytes`). While it cannot tell yet it asks for more (true); a refused client gets its
 * answer and what it still sends is dropped (true); otherwise `pass(head)` receives every byte read so
 * far and reading stops (false) until whoever takes the connection resumes it.
 */
export function firstBytes(client, pass) {
  let head = null;
  let refused = false;
  const refuse = (answer) => {
    refused = true;
    client.end(answer); // the client's bytes are read and dropped meanwhile, so the answer is not reset away
    setTimeout(() => client.destroy(), 2000).unref();
    return true;
  };
  return (bytes) => {
    if (refused) return true;
    head = head ? Buffer.concat([head, bytes]) : Buffer.from(bytes);
    if (head[0] === TLS_HANDSHAKE) return refuse(TLS_ANSWER);
    const start = head.subarray(0, LOOK).toString("latin1");
    if (ABSOLUTE_START.test(start)) return refuse(ABSOLUTE_ANSWER);
    if (head.length < LOOK && MAYBE_ABSOLUTE.test(start)) return true; // wait for a few more bytes
    pass(head);
    return false;
  };
}

/**
 * A TCP server on `port` that hands every accepted connection, after firstBytes, to 127.0.0.1 at the
 * first port of `route()` (called per connection: `[port, fallbackPort, ...]`) that accepts a TCP
 * connection, then copies bytes both ways until either side closes. A refused or failed connect moves on
 * to the next port (nothing has been sent yet); a failure after that closes both sides. Nagle is off on
 * both sockets. Resolves with the listening server.
 */
export function frontServer(port, route) {
  const server = createServer({ noDelay: true, pauseOnConnect: true }, (accepted) => {
    const relay = { to: null, take: null };
    const reader = reads(relay);
    const client = adopt(accepted, reader);
    client.on("error", () => client.destroy());
    relay.take = firstBytes(client, (first) => {
      const pending = [first];
      relay.take = (bytes) => pending.push(Buffer.from(bytes)) && false; // none expected: reading is stopped
      open({ client, relay, reader, pending }, route(), 0);
    });
  });
  return new Promise((res, rej) => server.once("error", rej).listen(port, "127.0.0.1", () => res(server)));
}

/**
 * The accepted connection as a socket that reads through `onread` (reads(), below): node's server gives
 * its sockets no such option, so the connection's handle moves to a new Socket (the accepted one, paused
 * from the start and left without a handle, is destroyed: that only ends its bookkeeping).
 */
function adopt(accepted, onread) {
  const handle = accepted._handle;
  accepted._handle = null;
  accepted.destroy();
  return new Socket({ handle, onread });
}

/** Connect `conn` (the client, its relay and reader, the bytes read so far) to `ports[i]`, or the next that accepts. */
function open(conn, ports, i) {
  const { client, relay, pending } = conn;
  if (client.destroyed) return;
  const reader = reads({ to: client, take: (bytes) => client.write(bytes) });
  const upstream = connect({ host: "127.0.0.1", port: ports[i], noDelay: true, onread: reader });
  const gone = () => upstream.destroy(); // the client left while we connected
  const refused = () => {
    client.off("close", gone);
    upstream.destroy();
    if (i + 1 < ports.length) open(conn, ports, i + 1);
    else client.destroy();
  };
  client.once("close", gone);
  upstream.once("error", refused);
  upstream.once("connect", () => {
    upstream.off("error", refused);
    client.off("close", gone);
    if (client.destroyed) return upstream.destroy();
    const close = () => { client.destroy(); upstream.destroy(); };
    upstream.on("error", close);
    upstream.on("close", close);
    client.on("close", close);
    // "close" comes once a socket's handle is closed, its writes done or dropped: once both sockets have
    // closed, nothing refers to either read buffer, and both go back to the pool.
    let live = 2;
    const closed = () => { if (--live === 0) { reader.release(); conn.reader.release(); } };
    upstream.once("close", closed);
    client.once("close", closed);
    upstream.write(pending.length === 1 ? pending[0] : Buffer.concat(pending));
    relay.to = upstream;
    relay.take = (bytes) => upstream.write(bytes);
    client.on("drain", () => upstream.resume()); // a take that returned false stopped the other side's reads
    upstream.on("drain", () => client.resume());
    upstream.on("end", () => client.end());
    client.on("end", () => upstream.end());
    client.resume();
  });
}

/**
 * `onread` for a socket whose reads go to `relay.take(bytes)` (false: stop reading until the socket they
 * are written to, `relay.to`, drains). The buffer is used again for the next read unless bytes of it are
 * still queued on `relay.to` (header); it comes from the pool of closed connections' buffers when there
 * is one (front-hops, a new connection per request at 1 / 8 / 64 connections: 0.26 / 0.15 / 0.16 ms of
 * the front's CPU per connection with the pool, 0.34 / 0.26 / 0.23 without).
 */
function reads(relay) {
  let buffer = spare.pop() ?? Buffer.allocUnsafe(READ_BYTES);
  return {
    buffer: () => (relay.to?.writableLength > 0 && !relay.to.writableNeedDrain ? (buffer = Buffer.allocUnsafe(READ_BYTES)) : buffer),
    callback: (n, bytes) => relay.take(bytes.subarray(0, n)),
    /** Give the buffer to the pool; only once the socket reading into it and the one written from it have closed. */
    release: () => {
      if (spare.length < SPARE_MAX) spare.push(buffer);
      buffer = null;
    },
  };
}
