/** Helpers for UI tests: pages through the Worker with a cookie jar, forms with their CSRF token, and test images. */
import { expect } from "vitest";
import type { Env } from "../../src/worker/config";
import { basic, call, PASSWORDS, pushBlobAs } from "./harness";
import { sha256 } from "./harness";

export { PASSWORDS, basic };

/** Every Set-Cookie of a response (workerd has Headers.getSetCookie; workers-types does not declare it). */
export function setCookies(res: Response): string[] {
  return (res.headers as unknown as { getSetCookie(): string[] }).getSetCookie();
}

/** A browser, roughly: keeps cookies, sends same-origin form posts. */
export class Visitor {
  readonly jar = new Map<string, string>();
  constructor(readonly e: Env) {}

  async get(path: string): Promise<Response> {
    return this.keep(await call(this.e, "GET", path, { headers: this.cookieHeader() }));
  }

  async html(path: string, status = 200): Promise<string> {
    const res = await this.get(path);
    const text = await res.text();
    expect(res.status, `${path}: ${text.slice(0, 2000)}`).toBe(status);
    expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    return text;
  }

  async post(path: string, form: Record<string, string>, headers: Record<string, string> = { Origin: "http://registry.test" }): Promise<Response> {
    return this.keep(
      await call(this.e, "POST", path, {
        body: new URLSearchParams(form).toString(),
        headers: { ...this.cookieHeader(), "Content-Type": "application/x-www-form-urlencoded", ...headers },
      }),
    );
  }

  /** The CSRF token of the forms on a page. */
  async csrf(path: string): Promise<string> {
    const m = /name="csrf" value="([^"]+)"/.exec(await this.html(path));
    expect(m, `no CSRF field on ${path}`).not.toBeNull();
    return m![1];
  }

  async signIn(user: string, password: string): Promise<Response> {
    const csrf = await this.csrf("/sign-in");
    return this.post("/sign-in", { csrf, username: user, password });
  }

  private cookieHeader(): Record<string, string> {
    return this.jar.size ? { Cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ") } : {};
  }

  private keep(res: Response): Response {
    for (const c of setCookies(res)) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      const k = pair.slice(0, i);
      const v = pair.slice(i + 1);
      if (!v || /Max-Age=0/.test(c)) this.jar.delete(k);
      else this.jar.set(k, v);
    }
    return res;
  }
}

const MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/** An image whose config has entrypoint, env, labels and history, with two layers; returns its digest. */
export async function pushRichImage(e: Env, name: string, tag: string | undefined, auth: string, arch = "amd64"): Promise<string> {
  const config = JSON.stringify({
    architecture: arch,
    os: "linux",
    created: "2026-11-30T10:00:00Z",
    config: {
      Entrypoint: ["/bin/app"],
      Cmd: ["--serve", "<script>"],
      Env: ["PATH=/usr/bin", "GREETING=<b>hi</b>"],
      Labels: { "org.opencontainers.image.source": "https://example.test/app", evil: '"><script>alert(1)</script>' },
    },
    history: [{ created: "2026-11-30T10:00:00Z", created_by: "COPY app /bin/app # " + tag }],
  });
  const c = await pushBlobAs(e, name, config, auth);
  expect(c.res.status).toBe(201);
  const l1 = await pushBlobAs(e, name, `layer one ${tag} ${arch}`, auth);
  const l2 = await pushBlobAs(e, name, `layer two ${tag} ${arch} with more bytes`, auth);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: c.digest, size: config.length },
    layers: [
      { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: l1.digest, size: `layer one ${tag} ${arch}`.length },
      { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: l2.digest, size: `layer two ${tag} ${arch} with more bytes`.length },
    ],
  });
  const digest = await sha256(manifest);
  const res = await call(e, "PUT", `/v2/${name}/manifests/${tag ?? digest}`, { auth, body: manifest, headers: { "Content-Type": MANIFEST } });
  expect(res.status).toBe(201);
  return digest;
}

/** An index over two platforms of pushRichImage, tagged; returns its digest and the children's. */
export async function pushIndex(e: Env, name: string, tag: string, auth: string) {
  const amd = await pushRichImage(e, name, undefined, auth, "amd64");
  const arm = await pushRichImage(e, name, undefined, auth, "arm64");
  // Descriptor sizes must match the stored manifests (the registry checks them).
  const sizeOf = async (d: string) => Number((await call(e, "HEAD", `/v2/${name}/manifests/${d}`, { auth })).headers.get("Content-Length"));
  const [amdSize, armSize] = [await sizeOf(amd), await sizeOf(arm)];
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      { mediaType: MANIFEST, digest: amd, size: amdSize, platform: { os: "linux", architecture: "amd64" } },
      { mediaType: MANIFEST, digest: arm, size: armSize, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    ],
  });
  const res = await call(e, "PUT", `/v2/${name}/manifests/${tag}`, { auth, body: index, headers: { "Content-Type": "application/vnd.oci.image.index.v1+json" } });
  expect(res.status).toBe(201);
  return { digest: await sha256(index), amd, arm };
}

/** An SBOM-like artifact whose subject is `subject`; returns its digest. */
export async function pushReferrer(e: Env, name: string, subject: string, auth: string, artifactType = "application/spdx+json"): Promise<string> {
  const empty = await pushBlobAs(e, name, "{}", auth);
  const sbom = await pushBlobAs(e, name, JSON.stringify({ spdxVersion: "SPDX-2.3", subject }), auth);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST,
    artifactType,
    config: { mediaType: "application/vnd.oci.empty.v1+json", digest: empty.digest, size: 2 },
    layers: [{ mediaType: artifactType, digest: sbom.digest, size: JSON.stringify({ spdxVersion: "SPDX-2.3", subject }).length }],
    subject: { mediaType: "application/vnd.oci.image.index.v1+json", digest: subject, size: 1 },
    annotations: { "org.opencontainers.image.created": "2026-11-30T11:00:00Z" },
  });
  const digest = await sha256(manifest);
  const res = await call(e, "PUT", `/v2/${name}/manifests/${digest}`, { auth, body: manifest, headers: { "Content-Type": MANIFEST } });
  expect(res.status).toBe(201);
  return digest;
}

export const alice = () => basic("alice", PASSWORDS.alice);
export const admin = () => basic("admin", PASSWORDS.admin);
