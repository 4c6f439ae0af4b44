// npm start's TCP front (scripts/lib/front.mjs) with plain TCP servers behind it: where each connection
// goes (the first port of route() that accepts, asked per connection), and the first-bytes answers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, randomBytes, type Hash } from "node:crypto";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { frontServer } from "../../scripts/lib/front.mjs";

/** A TCP server that answers every chunk with "<name>:<chunk>" and counts its connections. */
async function echo(name: string): Promise<{ server: Server; port: number; connections: () => number }> {
  let n = 0;
  const server = createServer((s) => {
    n++;
    s.on("data", (d) => s.write(`${name}:${d}`));
    s.on("error", () => s.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port, connections: () => n };
}

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const p = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

/** A test upstream: its server, port, and a promise of its first connection (the front routed one there). */
type Upstream = { server: Server; port: number; connected: Promise<void> };
async function listening(server: Server): Promise<Upstream> {
  const connected = new Promise<void>((r) => server.once("connection", () => r()));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port, connected };
}

/** Hash what `s` reads, pausing `pauseMs` every `every` chunks (no pauses when 0); `onRead(bytesSoFar)` after each chunk. */
function readSlowly(s: Socket, every: number, pauseMs: number, onRead: (bytes: number) => void = () => {}): { hash: Hash; bytes: () => number } {
  const hash = createHash("sha256");
  let n = 0;
  let chunks = 0;
  s.on("data", (d) => {
    hash.update(d);
    n += d.length;
    onRead(n);
    if (pauseMs && ++chunks % every === 0) {
      s.pause();
      setTimeout(() => s.resume(), pauseMs);
    }
  });
  return { hash, bytes: () => n };
}

/** Send `bytes` on a new connection to the front; resolve with all it answers until it closes or `ms` pass. */
function exchange(port: number, bytes: string | Buffer, ms = 500): Promise<string> {
  return new Promise((resolve) => {
    const s: Socket = connect({ host: "127.0.0.1", port });
    let got = "";
    const done = () => { s.destroy(); resolve(got); };
    s.on("connect", () => s.write(bytes));
    s.on("data", (d) => (got += d.toString("latin1")));
    s.on("close", done);
    s.on("error", done);
    setTimeout(done, ms);
  });
}

/** A TCP server that sends back every byte it receives. */
async function mirror(): Promise<Upstream> {
  const server = createServer((s) => {
    s.on("error", () => s.destroy());
    s.pipe(s);
  });
  return listening(server);
}

/** Send `bytes` through the front and resolve with as many bytes back as soon as they came, then close. */
function roundTrip(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect({ host: "127.0.0.1", port });
    const parts: Buffer[] = [];
    let n = 0;
    s.on("connect", () => s.write(bytes));
    s.on("data", (d) => {
      parts.push(d);
      n += d.length;
      if (n >= bytes.length) resolve(Buffer.concat(parts)), s.destroy();
    });
    s.on("error", reject);
  });
}

/** Write `bytes` to `s` in pieces of `piece` bytes, waiting for "drain" when asked, one piece per turn of the event loop when `trickle`; then `done()`. */
function writeInPieces(s: Socket, bytes: Buffer, piece: number, trickle: boolean, done = () => {}): void {
  let at = 0;
  const pump = (): void => {
    while (at < bytes.length) {
      const ok = s.write(bytes.subarray(at, at + piece));
      at += piece;
      if (!ok) return void s.once("drain", pump);
      if (trickle) return void setImmediate(pump);
    }
    done();
  };
  pump();
}

/**
 * A TCP server that answers its first chunk with `bytes` in pieces of `piece` bytes (odd sizes, so reads
 * end anywhere in the front's buffer), one piece per turn of the event loop when `trickle` (so the front
 * reads small pieces), else as fast as the socket takes them; then ends.
 */
async function source(bytes: Buffer, piece: number, trickle: boolean): Promise<Upstream> {
  const server = createServer((s) => {
    s.on("error", () => s.destroy());
    s.once("data", () => writeInPieces(s, bytes, piece, trickle, () => s.end()));
  });
  return listening(server);
}

/** Ask the front for the source's bytes; read them pausing `pauseMs` every `every` chunks; resolve with their SHA-256 and count once the connection ends. */
function download(port: number, every: number, pauseMs: number): Promise<{ sha: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect({ host: "127.0.0.1", port });
    const read = readSlowly(s, every, pauseMs);
    s.on("connect", () => s.write("GET /big HTTP/1.1\r\n\r\n"));
    s.on("end", () => resolve({ sha: read.hash.digest("hex"), bytes: read.bytes() }));
    s.on("error", reject);
  });
}

/**
 * A TCP server that reads `total` bytes, pausing `pauseMs` every `every` chunks, and answers with their
 * SHA-256 in hex.
 */
async function sink(total: number, every: number, pauseMs: number): Promise<Upstream> {
  const server = createServer((s) => {
    s.on("error", () => s.destroy());
    const read = readSlowly(s, every, pauseMs, (n) => {
      if (n >= total) s.end(read.hash.digest("hex"));
    });
  });
  return listening(server);
}

/** Send `bytes` to the front in pieces of `piece` (one per turn of the event loop when `trickle`); resolve with what comes back. */
function upload(port: number, bytes: Buffer, piece: number, trickle: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect({ host: "127.0.0.1", port });
    let got = "";
    s.on("connect", () => writeInPieces(s, bytes, piece, trickle));
    s.on("data", (d) => (got += d));
    s.on("end", () => resolve(got));
    s.on("error", reject);
  });
}

let a: Awaited<ReturnType<typeof echo>>;
let b: Awaited<ReturnType<typeof echo>>;
let front: Server;
let frontPort: number;
let route: number[] = [];

beforeAll(async () => {
  a = await echo("a");
  b = await echo("b");
  front = await frontServer(0, () => route);
  frontPort = (front.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const s of [front, a.server, b.server]) await new Promise((r) => s.close(r));
});

describe("npm start's TCP front", () => {
  it("hands each connection to the first port of route(), asked again for every connection", async () => {
    route = [a.port, b.port];
    expect(await exchange(frontPort, "GET / HTTP/1.1\r\n\r\n")).toBe("a:GET / HTTP/1.1\r\n\r\n");
    route = [b.port];
    expect(await exchange(frontPort, "GET /x HTTP/1.1\r\n\r\n")).toBe("b:GET /x HTTP/1.1\r\n\r\n");
  });

  it("moves on to the next port when a port refuses the connection, sending the first bytes there", async () => {
    route = [await deadPort(), a.port];
    const before = a.connections();
    expect(await exchange(frontPort, "HEAD /v2/ HTTP/1.1\r\n\r\n")).toBe("a:HEAD /v2/ HTTP/1.1\r\n\r\n");
    expect(a.connections()).toBe(before + 1);
  });

  it("closes the client when no port accepts", async () => {
    route = [await deadPort()];
    const t0 = Date.now();
    expect(await exchange(frontPort, "GET / HTTP/1.1\r\n\r\n", 5000)).toBe("");
    expect(Date.now() - t0).toBeLessThan(4000); // closed, not left waiting
  });

  it("keeps one upstream connection per client connection: later bytes follow the first", async () => {
    route = [a.port, b.port];
    const s = connect({ host: "127.0.0.1", port: frontPort });
    let got = "";
    s.on("data", (d) => (got += d));
    await new Promise((r) => s.on("connect", r));
    s.write("GET /1 HTTP/1.1\r\n\r\n");
    await new Promise((r) => setTimeout(r, 100));
    route = [b.port]; // a new route does not move an open connection
    s.write("GET /2 HTTP/1.1\r\n\r\n");
    await new Promise((r) => setTimeout(r, 100));
    s.destroy();
    expect(got).toBe("a:GET /1 HTTP/1.1\r\n\r\na:GET /2 HTTP/1.1\r\n\r\n");
  });

  it("hands the upstream's bytes over intact to a fast and to a slow reader, and ends with the upstream", async () => {
    // The front reads the upstream into a buffer it uses again (scripts/lib/front.mjs, header): these
    // are the cases where reusing it too early would overwrite bytes still queued for the client.
    const bytes = randomBytes(32 * 2 ** 20);
    const want = { sha: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.length };
    const cases = [
      { piece: 1_000_003, trickle: false, every: 0, pauseMs: 0 }, // fast: writes complete at once
      { piece: 1_000_003, trickle: false, every: 4, pauseMs: 3 }, // slow: big writes stay queued
      { piece: 3_001, trickle: true, every: 16, pauseMs: 20 }, // small reads queued below the high-water mark
    ];
    for (const c of cases) {
      const up = await source(bytes, c.piece, c.trickle);
      try {
        route = [up.port];
        expect(await download(frontPort, c.every, c.pauseMs), JSON.stringify(c)).toEqual(want);
      } finally {
        await new Promise((r) => up.server.close(r));
      }
    }
  }, 60_000);

  it("hands the client's bytes over intact to a fast and to a slow upstream", async () => {
    // The client's side reads into a buffer it uses again too: the same cases, the other way round. The
    // bytes start with a request line, as the first-bytes check wants, sent in pieces of every size.
    const bytes = Buffer.concat([Buffer.from("PATCH /v2/x/blobs/uploads/1 HTTP/1.1\r\n\r\n"), randomBytes(32 * 2 ** 20)]);
    const cases = [
      { piece: 1_000_003, trickle: false, every: 0, pauseMs: 0, size: bytes.length },
      { piece: 1_000_003, trickle: false, every: 4, pauseMs: 3, size: bytes.length },
      { piece: 3_001, trickle: true, every: 16, pauseMs: 20, size: bytes.length },
      { piece: 5, trickle: true, every: 0, pauseMs: 0, size: 200_000 }, // the first bytes arrive 5 at a time
    ];
    for (const c of cases) {
      const body = bytes.subarray(0, c.size);
      const up = await sink(body.length, c.every, c.pauseMs);
      try {
        route = [up.port];
        expect(await upload(frontPort, body, c.piece, c.trickle), JSON.stringify(c)).toBe(createHash("sha256").update(body).digest("hex"));
      } finally {
        await new Promise((r) => up.server.close(r));
      }
    }
  }, 60_000);

  it("keeps each connection's bytes its own while others open and close around it", async () => {
    // Closed connections' read buffers go to a pool the next connections take from (scripts/lib/front.mjs):
    // a buffer handed on while its connection still reads or writes it would mix two streams' bytes. So
    // short connections open, fill their buffers (300 kB each way) and close, 8 at a time, for as long as
    // a slow download and a slow upload are on their way.
    const bytes = randomBytes(16 * 2 ** 20);
    const request = Buffer.concat([Buffer.from("PATCH /v2/x/blobs/uploads/1 HTTP/1.1\r\n\r\n"), bytes]);
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    const up = await source(bytes, 1_000_003, false);
    const down = await sink(request.length, 2, 10);
    const echo = await mirror();
    try {
      route = [up.port];
      let done = 0;
      const downloaded = download(frontPort, 2, 10).finally(() => done++);
      await up.connected; // route() is asked when a connection's first bytes arrive
      route = [down.port];
      const uploaded = upload(frontPort, request, 1_000_003, false).finally(() => done++);
      await down.connected;
      route = [echo.port];
      let trips = 0;
      while (done < 2) {
        const sent = Array.from({ length: 8 }, () => Buffer.concat([Buffer.from("GET / HTTP/1.1\r\n\r\n"), randomBytes(300_000)]));
        const got = await Promise.all(sent.map((b) => roundTrip(frontPort, b)));
        for (const [i, b] of got.entries()) expect(b.equals(sent[i])).toBe(true);
        trips += sent.length;
      }
      expect(await downloaded).toEqual({ sha: sha(bytes), bytes: bytes.length });
      expect(await uploaded).toBe(sha(request));
      expect(trips).toBeGreaterThan(40); // the short connections did overlap the long ones
    } finally {
      for (const s of [up.server, down.server, echo.server]) await new Promise((r) => s.close(r));
    }
  }, 60_000);

  it("answers a TLS ClientHello with Go's HTTP/1.0 400 and an absolute-form request with a 400, upstream untouched", async () => {
    route = [a.port];
    const before = a.connections();
    expect(await exchange(frontPort, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]))).toMatch(/^HTTP\/1\.0 400 Bad Request\r\n/);
    expect(await exchange(frontPort, "PUT http://127.0.0.1:5000/v2/x HTTP/1.1\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*absolute-form/);
    expect(a.connections()).toBe(before);
  });
});
