// End to end with Docker itself (issue 10): the docker CLI talking to `npm start` with --insecure (the TCP
// front answers its TLS ClientHello the way Go's HTTP server does, so docker falls back to plain HTTP),
// the front's answers to TLS and to absolute-form request lines, `docker load` of an archive written by
// `wharf pull`, and a real dockerd pushing to and pulling from Wharf.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOCKER_CLI, type Dockerd, startDockerd } from "./dockerd";
import { startWharf, type Wharf } from "./harness";
import { buildOciImage, ociImage } from "./images";
import { configOf, randomDir, wharfOk } from "./wharf-cli";

let wharf: Wharf;
let dockerd: Dockerd;
let work: string;
let image: ReturnType<typeof ociImage>;
let layout: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "wharf-docker-"));
  layout = buildOciImage(work, "v1", [randomDir(work, "a", 300_000), "/usr/share/doc/skopeo"]);
  image = ociImage(layout, "v1");
  [wharf, dockerd] = await Promise.all([startWharf(), startDockerd()]);
  await wharfOk(["push", layout, `${wharf.host}/e2e/docker-src:v1`]);
});

afterAll(async () => {
  await Promise.all([wharf?.stop(), dockerd?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

/** The docker CLI without a daemon (manifest commands talk to the registry directly). */
function dockerCli(args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    execFile(DOCKER_CLI, args, { env: { ...process.env, DOCKER_CONFIG: join(work, "cli-config"), DOCKER_HOST: "unix:///nonexistent.sock" }, timeout: 60_000 }, (err, stdout, stderr) =>
      err ? rej(new Error(`docker ${args.join(" ")}: ${err.message}\n${stderr}`)) : res(stdout),
    );
  });
}

/** Send raw bytes on a fresh connection and collect everything until the server closes it. */
function rawExchange(port: number, bytes: Buffer | string, timeoutMs = 10_000): Promise<{ data: string; closed: boolean }> {
  return new Promise((res) => {
    const s = connect(port, "127.0.0.1", () => s.write(bytes));
    let data = "";
    const t = setTimeout(() => {
      s.destroy();
      res({ data, closed: false });
    }, timeoutMs);
    s.on("data", (d) => (data += d.toString("latin1")));
    s.on("error", () => undefined);
    s.on("close", () => {
      clearTimeout(t);
      res({ data, closed: true });
    });
  });
}

describe("npm start's TCP front", () => {
  it("answers a TLS ClientHello with HTTP/1.0 400 Bad Request and closes, as Go's HTTP server does", async () => {
    const got = await new Promise<string>((res) => {
      const s = tlsConnect({ host: "127.0.0.1", port: wharf.port, rejectUnauthorized: false });
      s.on("error", (err) => res(String(err.message)));
      s.on("secureConnect", () => res("handshake completed"));
    });
    // Node's TLS client sees plain HTTP where a TLS record should be.
    expect(got).toMatch(/wrong version number|packet length too long|unexpected|ECONNRESET|socket disconnected/i);

    // The bytes on the wire: a ClientHello captured from a client (record type 0x16) gets Go's answer.
    const hello = Buffer.from("160301002d0100002903035f" + "00".repeat(40), "hex");
    const { data, closed } = await rawExchange(wharf.port, hello);
    expect(data.startsWith("HTTP/1.0 400 Bad Request\r\n")).toBe(true);
    expect(closed).toBe(true);
  });

  it("answers an absolute-form request target with a 400 (never the runtime's plain-text 500) and closes", async () => {
    for (const line of [`GET http://${wharf.host}/v2/ HTTP/1.1`, `PUT http://${wharf.host}/v2/e2e/x/manifests/v1 HTTP/1.1`]) {
      const { data, closed } = await rawExchange(wharf.port, `${line}\r\nHost: ${wharf.host}\r\nContent-Length: 0\r\n\r\n`);
      expect(data.startsWith("HTTP/1.1 400 Bad Request\r\n")).toBe(true);
      expect(data).toContain("origin form");
      expect(closed).toBe(true);
    }
    // Requests in origin form, even in small pieces, pass through untouched.
    const res = await new Promise<string>((done) => {
      const s = connect(wharf.port, "127.0.0.1", async () => {
        for (const piece of ["GE", "T /v2/ HT", `TP/1.1\r\nHost: ${wharf.host}\r\nConnection: close\r\n\r\n`]) {
          s.write(piece);
          await new Promise((r) => setTimeout(r, 50));
        }
      });
      let data = "";
      s.on("data", (d) => {
        data += d;
        if (data.includes("\r\n\r\n")) {
          s.destroy();
          done(data);
        }
      });
    });
    expect(res.startsWith("HTTP/1.1 200 OK")).toBe(true);
    expect(res).toContain("Docker-Distribution-API-Version: registry/2.0");
  });
});

describe("docker CLI against npm start", () => {
  it("docker manifest inspect --insecure reads the image, and manifest create/push --insecure writes a list", async () => {
    const inspected = JSON.parse(await dockerCli(["manifest", "inspect", "--insecure", `${wharf.host}/e2e/docker-src:v1`])) as {
      config: { digest: string };
      layers: { digest: string }[];
    };
    expect(inspected.config.digest).toBe(image.config.digest);
    expect(inspected.layers.map((l) => l.digest)).toEqual(image.layers.map((l) => l.digest));

    await dockerCli(["manifest", "create", "--insecure", `${wharf.host}/e2e/docker-list:v1`, `${wharf.host}/e2e/docker-src:v1`]);
    const out = await dockerCli(["manifest", "push", "--insecure", `${wharf.host}/e2e/docker-list:v1`]);
    const pushed = /(sha256:[0-9a-f]{64})\s*$/.exec(out.trim())?.[1];
    expect(pushed, out).toBeDefined();
    const list = await fetch(`${wharf.url}/v2/e2e/docker-list/manifests/v1`);
    expect(list.status).toBe(200);
    expect(list.headers.get("Docker-Content-Digest")).toBe(pushed);
    const body = (await list.json()) as { manifests: { digest: string }[] };
    expect(body.manifests.map((m) => m.digest)).toEqual([image.manifestDigest]);
  });
});

describe("dockerd and Wharf", () => {
  it("docker load takes an archive written by wharf pull, with the image's layers and config", async () => {
    const archive = join(work, "pulled.tar");
    await wharfOk(["pull", `${wharf.host}/e2e/docker-src:v1`, archive, "--format", "docker"]);
    const loaded = await dockerd.docker(["load", "-i", archive]);
    expect(loaded).toContain(`Loaded image: ${wharf.host}/e2e/docker-src:v1`);
    const [inspect] = JSON.parse(await dockerd.docker(["image", "inspect", `${wharf.host}/e2e/docker-src:v1`])) as {
      Id: string;
      RootFS: { Layers: string[] };
      Architecture: string;
    }[];
    expect(inspect.Id).toBe(image.config.digest);
    expect(inspect.RootFS.Layers).toEqual(configOf(layout, image.config.digest).rootfs.diff_ids);
  });

  it("dockerd pushes an image to Wharf and pulls it back", async () => {
    const source = `${wharf.host}/e2e/docker-src:v1`;
    const target = `${wharf.host}/e2e/docker-pushed:v2`;
    await dockerd.docker(["pull", source]);
    await dockerd.docker(["tag", source, target]);
    const push = await dockerd.docker(["push", target]);
    const pushedDigest = /digest: (sha256:[0-9a-f]{64})/.exec(push)?.[1];
    expect(pushedDigest).toBeDefined();
    const head = await fetch(`${wharf.url}/v2/e2e/docker-pushed/manifests/v2`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("Docker-Content-Digest")).toBe(pushedDigest);

    await dockerd.docker(["rmi", source, target]);
    const pulled = await dockerd.docker(["pull", target]);
    expect(pulled).toContain(`Digest: ${pushedDigest}`);
    const [inspect] = JSON.parse(await dockerd.docker(["image", "inspect", target])) as { Id: string; RepoDigests: string[] }[];
    expect(inspect.Id).toBe(image.config.digest);
    expect(inspect.RepoDigests).toContain(`${wharf.host}/e2e/docker-pushed@${pushedDigest}`);
  });
});
