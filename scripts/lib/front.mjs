// The first bytes of a connection to `npm start`'s TCP front (scripts/start.mjs says why each case exists):
// a TLS ClientHello gets Go's "HTTP/1.0 400 Bad Request" and is closed; an absolute-form request target
// gets a plain 400 and is closed; anything else is handed on untouched. `pass(buffer)` receives the
// bytes to send upstream first; the caller pipes the rest of the connection.

const TLS_HANDSHAKE = 0x16;
const TLS_ANSWER = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTPS request to an HTTP server.\n";
const ABSOLUTE_BODY = "Bad Request: absolute-form request targets are not supported here; send the path (origin form)\n";
const ABSOLUTE_ANSWER = `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ${ABSOLUTE_BODY.length}\r\n\r\n${ABSOLUTE_BODY}`;
/** "METHOD http://" or "METHOD https://": how an absolute-form request line starts. */
const ABSOLUTE_START = /^[A-Z]+ https?:\/\//i;
/** A prefix of that, too short to tell yet. */
const MAYBE_ABSOLUTE = /^[A-Z]+( (h(t(t(p(s?(:(\/\/?)?)?)?)?)?)?)?)?$/i;
const LOOK = 16;

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
