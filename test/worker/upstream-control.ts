/** Driving a fake upstream registry (fake-registry.ts) from inside workerd, and small OCI images for it. */
import { expect } from "vitest";
import { randomBytes } from "./harness";

export interface LogEntry {
  method: string;
  path: string;
  authorization: string | null;
}

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

export class FakeUpstream {
  constructor(readonly host: string) {}

  private async control(what: string, init: RequestInit = {}, query: Record<string, string> = {}): Promise<unknown> {
    const q = new URLSearchParams(query).toString();
    const res = await fetch(`http://${this.host}/_control/${what}${q ? `?${q}` : ""}`, { method: "POST", ...init });
    expect(res.status).toBe(200);
    return res.json();
  }

  reset = () => this.control("reset");
  options = (o: Record<string, unknown>) => this.control("options", { body: JSON.stringify(o) });
  clearLog = () => this.control("clear-log");
  untag = (repo: string, tag: string) => this.control("untag", {}, { repo, tag });

  async log(): Promise<LogEntry[]> {
    return (await this.control("log")) as LogEntry[];
  }

  /** Requests for content (manifests, blobs, tags), as "METHOD path". */
  async contentRequests(): Promise<string[]> {
    return (await this.log()).filter((e) => /\/(manifests|blobs|tags)\//.test(e.path) || e.path.startsWith("/_data/")).map((e) => `${e.method} ${e.path}`);
  }

  async blob(repo: string, bytes: Uint8Array): Promise<string> {
    return ((await this.control("blob", { body: bytes }, { repo })) as { digest: string }).digest;
  }

  async manifest(repo: string, body: string, tag?: string, type = OCI_MANIFEST): Promise<string> {
    const q: Record<string, string> = { repo, type };
    if (tag) q.tag = tag;
    return ((await this.control("manifest", { body }, q)) as { digest: string }).digest;
  }

  /** An image (config + layers of the given sizes) in `repo`, tagged `tag`. */
  async image(repo: string, tag: string | undefined, layerSizes: number[] = [1000]): Promise<{ digest: string; body: string; config: string; layers: { digest: string; bytes: Uint8Array }[] }> {
    const cfg = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", repo, tag, n: Math.random() }));
    const config = await this.blob(repo, cfg);
    const layers = [];
    for (const size of layerSizes) {
      const bytes = randomBytes(size);
      layers.push({ digest: await this.blob(repo, bytes), bytes });
    }
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: cfg.length },
      layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: l.digest, size: l.bytes.length })),
    });
    const digest = await this.manifest(repo, body, tag);
    return { digest, body, config, layers };
  }
}
