/**
 * CNCF distribution (`docker-registry`) for tests: open, or with token auth. For token auth, a Docker
 * token server for tests (https://distribution.github.io/distribution/spec/auth/token/), in
 * front of CNCF distribution (`docker-registry`, configured with `auth.token`): it checks Basic
 * credentials and signs RS256 JWTs, with the signing certificate in the `x5c` header, granting the
 * scopes asked for. Every request is logged so tests can check what the client asked for.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createPrivateKey, randomUUID, sign } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { freePort } from "./harness";

export interface TokenRequest {
  user: string | null;
  service: string | null;
  scopes: string[];
}

export interface TokenRegistry {
  host: string;
  requests: TokenRequest[];
  stop: () => Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

/** distribution's config.yml: filesystem storage in `dir`, deletes on, loopback `port`, then `extra` lines. */
function writeConfig(dir: string, port: number, extra: string[]): void {
  writeFileSync(join(dir, "config.yml"), [
    "version: 0.1",
    "log: { level: error }",
    `storage: { filesystem: { rootdirectory: ${join(dir, "data")} }, delete: { enabled: true } }`,
    `http: { addr: 127.0.0.1:${port} }`,
    ...extra,
  ].join("\n"));
}

/** Start distribution with no auth, storing in `dir`. */
export async function startDistribution(dir: string): Promise<TokenRegistry> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  writeConfig(dir, port, []);
  return launch(dir, port, 200, async () => {});
}

async function launch(dir: string, port: number, readyStatus: number, cleanup: () => Promise<void>, requests: TokenRequest[] = []): Promise<TokenRegistry> {
  const proc: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: "ignore" });
  const stopAll = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
    }
    await cleanup();
  };
  process.once("exit", () => proc.kill("SIGKILL"));
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/v2/`);
      if (r.status === readyStatus) break;
    } catch {}
    if (i > 100) {
      await stopAll();
      throw new Error("docker-registry did not start");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host: `127.0.0.1:${port}`, requests, stop: stopAll };
}

/** Start distribution with token auth, and the token server it trusts, in `dir`. */
export async function startTokenRegistry(dir: string, users: Record<string, string>): Promise<TokenRegistry> {
  mkdirSync(dir, { recursive: true });
  const keyPath = join(dir, "key.pem");
  const certPath = join(dir, "cert.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certPath, "-days", "1", "-subj", "/CN=wharf-test-token"], { stdio: "ignore" });
  const key = createPrivateKey(readFileSync(keyPath));
  const certDer = execFileSync("openssl", ["x509", "-in", certPath, "-outform", "DER"]);

  const requests: TokenRequest[] = [];
  const tokenPort = await freePort();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const auth = req.headers.authorization;
    let user: string | null = null;
    if (auth?.startsWith("Basic ")) {
      const [u, ...p] = Buffer.from(auth.slice(6), "base64").toString().split(":");
      if (users[u] !== p.join(":")) {
        res.writeHead(401, { "Content-Type": "application/json" }).end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "bad credentials" }] }));
        return;
      }
      user = u;
    }
    const scopes = url.searchParams.getAll("scope");
    requests.push({ user, service: url.searchParams.get("service"), scopes });
    const now = Math.floor(Date.now() / 1000);
    // Anonymous callers get a token with no access; users get what they ask for.
    const access = user
      ? scopes.map((s) => {
          const [type, name, actions] = [s.slice(0, s.indexOf(":")), s.slice(s.indexOf(":") + 1, s.lastIndexOf(":")), s.slice(s.lastIndexOf(":") + 1)];
          return { type, name, actions: actions.split(",") };
        })
      : [];
    const header = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", x5c: [certDer.toString("base64")] }));
    const claims = b64url(JSON.stringify({ iss: "wharf-test", sub: user ?? "", aud: "test-registry", exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access }));
    const signature = b64url(sign("sha256", Buffer.from(`${header}.${claims}`), key));
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ token: `${header}.${claims}.${signature}`, expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(tokenPort, "127.0.0.1", r));

  const port = await freePort();
  writeConfig(dir, port, [
    "auth:",
    "  token:",
    `    realm: http://127.0.0.1:${tokenPort}/token`,
    "    service: test-registry",
    "    issuer: wharf-test",
    `    rootcertbundle: ${certPath}`,
  ]);
  return launch(dir, port, 401, () => new Promise<void>((r) => server.close(() => r())), requests);
}
