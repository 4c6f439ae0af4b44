// `npm start`'s TCP front (scripts/start.mjs says why it exists and where it sends connections).
// The first bytes of each connection: a TLS ClientHello gets Go's "HTTP/1.0 400 Bad Request" and is
// closed; an absolute-form request target gets a plain 400 and is closed; anything else is handed on
// untouched (firstBytes: `pass(buffer)` receives the bytes to send upstream first). frontServer pipes the
// rest of the connection to the first upstream port that accepts it.
//
// Reading the upstream's bytes (answers, blob bodies on their way to the client): into one buffer of
// READ_BYTES per connection, used again for the next read whenever nothing holds it, instead of node's
// fresh 64 KiB buffer per read. A write to the client either completes at once (the kernel took every
// byte: nothing refers to the buffer any more) or leaves bytes queued (the client socket's
// writableLength > 0: the queued write refers to the buffer, so the next read gets a fresh one). The
// same write returning false pauses reading until the client drains. 1 GiB through the front to a fast
// client, 3 runs each, old and new minutes apart: 0.64-0.72 CPU-s instead of 1.13-1.22, and 0.92-1.08 s
// instead of 1.30-1.36 s (HAProxy 2.6 in TCP mode, earlier: 0.84-0.96 CPU-s). The client's bytes
// (uploads) take node's default: an accepted socket cannot be given a buffer of its own.
import { connect, createServer } from "node:net";

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

export function firstBytes(client, pass) {
  let head = Buffer.alloc(0);
  const onData = (chunk) => {
    head = head.length ? Buffer.concat([head, chunk]) : chunk;
    if (head[0] === TLS_HANDSHAKE) return done(() => refuse(client, TLS_ANSWER));
    const start = head.subarray(0, LOOK).toString("latin1");
    if (ABSOLUTE_START.test(start)) return done(() => refuse(client, ABSOLUTE_ANSWER));
    if (head.length < LOOK && MAYBE_ABSOLUTE.test(start)) return; // wait for a few more bytes
    done(() => pass(head));
  };
  const done = (then) => {
    client.off("data", onData);
    client.pause();
    then();
  };
  client.on("data", onData);
}

/** Answer and close, reading (and dropping) what the client still sends, so the answer is not reset away. */
function refuse(client, answer) {
  client.on("data", () => {});
  client.resume();
  client.end(answer);
  setTimeout(() => client.destroy(), 2000).unref();
}

/**
 * A TCP server on `port` that hands every accepted connection, after firstBytes, to 127.0.0.1 at the
 * first port of `route()` (called per connection: `[port, fallbackPort, ...]`) that accepts a TCP
 * connection, then copies bytes both ways until either side closes. A refused or failed connect moves on
 * to the next port (nothing has been sent yet); a failure after that closes both sides. Nagle is off on
 * both sockets. Resolves with the listening server.
 */
export function frontServer(port, route) {
  const server = createServer({ noDelay: true }, (client) => {
    client.on("error", () => client.destroy());
    firstBytes(client, (first) => open(client, first, route(), 0));
  });
  return new Promise((res, rej) => server.once("error", rej).listen(port, "127.0.0.1", () => res(server)));
}

function open(client, first, ports, i) {
  if (client.destroyed) return;
  const upstream = connect({ host: "127.0.0.1", port: ports[i], noDelay: true, onread: readsInto(client) });
  const gone = () => upstream.destroy(); // the client left while we connected
  const refused = () => {
    client.off("close", gone);
    upstream.destroy();
    if (i + 1 < ports.length) open(client, first, ports, i + 1);
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
    upstream.write(first);
    client.pipe(upstream);
    client.on("drain", () => upstream.resume()); // upstream → client: readsInto, below
    upstream.on("end", () => client.end());
  });
}

/** `onread` for the upstream socket: each read is written to the client (the header says when the buffer is reused). */
function readsInto(client) {
  let buffer = Buffer.allocUnsafe(READ_BYTES);
  return {
    buffer: () => (client.writableLength > 0 ? (buffer = Buffer.allocUnsafe(READ_BYTES)) : buffer),
    callback: (n, bytes) => client.write(bytes.subarray(0, n)), // false: stop reading until "drain"
  };
}
