/**
 * Store mode (`--data-root DIR`): the Engine API endpoints that the docker CLI's image commands use,
 * answered from the daemon's own image store. Everything else answers 501 with Docker's JSON error.
 * Transfers (pull, push, save, load) are in transfers.ts.
 */
import { hostname } from "node:os";
import { API_VERSION, MIN_API_VERSION, pingHeaders } from "../api-version";
import { badRequest, DaemonError, notFound, sendJson } from "../errors";
import { type Ctx, readJson, type Route, truthy } from "../http";
import { formatLocal, parseLocalName, registryRef } from "../refs";
import { type AuthConfig, credentialsOf, type RegistryClients, serverHost } from "../registry-auth";
import { type ImageConfig, type ImageIndex, INDEX_TYPES, parseJson } from "../../archive/oci";
import { referenceTarget } from "../../../client/reference";
import type { ImageStore, StoredImage } from "./image-store";
import { loadImages, pullImage, pushImage, saveImages } from "./transfers";
import { imageHistory, imageInspect, imageSummary } from "./views";

export interface StoreDeps {
  store: ImageStore;
  clients: RegistryClients;
  chunkSize?: number;
}

export const VERSION = "0.1.0";

export function storeRoutes(d: StoreDeps): Route[] {
  const ping = async (c: Ctx) => {
    c.res.writeHead(200, { ...pingHeaders(), "Content-Type": "text/plain; charset=utf-8", "Content-Length": "2" });
    c.res.end(c.req.method === "HEAD" ? undefined : "OK");
  };
  return [
    ["GET", /^\/_ping$/, ping],
    ["HEAD", /^\/_ping$/, ping],
    ["GET", /^\/version$/, async (c) => sendJson(c.res, 200, versionInfo())],
    ["GET", /^\/info$/, async (c) => sendJson(c.res, 200, await info(d.store))],
    ["POST", /^\/auth$/, (c) => login(c, d.clients)],
    ["POST", /^\/images\/create$/, (c) => pullImage(c, d)],
    ["GET", /^\/images\/json$/, (c) => listImages(c, d.store)],
    ["GET", /^\/images\/get$/, (c) => saveImages(c, d, c.url.searchParams.getAll("names"))],
    ["POST", /^\/images\/load$/, (c) => loadImages(c, d)],
    ["POST", /^\/images\/(.+)\/push$/, (c) => pushImage(c, d)],
    ["POST", /^\/images\/(.+)\/tag$/, (c) => tagImage(c, d.store)],
    ["GET", /^\/images\/(.+)\/json$/, async (c) => {
      const img = await mustResolve(d.store, c.params[0]);
      sendJson(c.res, 200, imageInspect(img, lastTagTime(d.store, img)));
    }],
    ["GET", /^\/images\/(.+)\/history$/, async (c) => sendJson(c.res, 200, imageHistory(await mustResolve(d.store, c.params[0])))],
    ["GET", /^\/images\/(.+)\/get$/, (c) => saveImages(c, d, [c.params[0]])],
    ["DELETE", /^\/images\/(.+)$/, (c) => removeImage(c, d.store)],
    ["GET", /^\/distribution\/(.+)\/json$/, (c) => distribution(c, d.clients)],
  ];
}

export async function mustResolve(store: ImageStore, name: string): Promise<StoredImage> {
  const img = await store.resolve(name);
  if (!img) throw notFound(`No such image: ${name}`);
  return img;
}

function lastTagTime(store: ImageStore, img: StoredImage): string | undefined {
  return img.repoTags.map((t) => store.refs.tagged[t]).filter(Boolean).sort().pop();
}

function versionInfo() {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  return {
    Platform: { Name: "Wharf" },
    Components: [{ Name: "Wharf daemon (image store)", Version: VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION } }],
    Version: VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: "",
    GoVersion: `node ${process.version}`,
    Os: "linux",
    Arch: arch,
    KernelVersion: "",
    BuildTime: "",
  };
}

async function info(store: ImageStore) {
  const images = await store.list();
  return {
    ID: "wharf",
    Containers: 0,
    ContainersRunning: 0,
    ContainersPaused: 0,
    ContainersStopped: 0,
    Images: new Set(images.map((i) => i.id)).size,
    Driver: "wharf",
    DockerRootDir: store.root,
    Name: hostname(),
    OperatingSystem: "Wharf daemon (image store, no containers)",
    OSType: "linux",
    Architecture: process.arch === "x64" ? "x86_64" : process.arch,
    ServerVersion: VERSION,
    IndexServerAddress: "",
    RegistryConfig: { InsecureRegistryCIDRs: ["127.0.0.0/8"], IndexConfigs: {}, Mirrors: [] },
    Warnings: ["wharf daemon serves images only: containers, volumes, networks and builds answer 501"],
  };
}

async function login(c: Ctx, clients: RegistryClients) {
  const auth = await readJson<AuthConfig>(c.req);
  const host = serverHost(auth.serveraddress);
  const creds = credentialsOf(auth);
  try {
    await clients.forCredentials(host, creds).ping();
  } catch (e) {
    const status = (e as { status?: number }).status;
    if (status === 401 || status === 403) throw new DaemonError(401, `login attempt to ${host} failed: ${(e as Error).message}`);
    throw e;
  }
  sendJson(c.res, 200, { Status: "Login Succeeded", IdentityToken: "" });
}

async function listImages(c: Ctx, store: ImageStore) {
  const q = c.url.searchParams;
  let images = await store.list();
  const filters = q.get("filters") ? parseJson<Record<string, string[] | Record<string, boolean>>>(Buffer.from(q.get("filters")!), "filters") : {};
  const refFilter = Object.keys(asList(filters.reference));
  if (refFilter.length || q.get("filter")) {
    const patterns = [...refFilter, ...(q.get("filter") ? [q.get("filter")!] : [])].map(globToRegExp);
    images = images
      .map((img) => ({ ...img, repoTags: img.repoTags.filter((t) => patterns.some((p) => p.test(t) || p.test(t.slice(0, t.lastIndexOf(":"))))) }))
      .filter((img) => img.repoTags.length);
  }
  const dangling = Object.keys(asList(filters.dangling));
  if (dangling.includes("true")) images = images.filter((i) => !i.repoTags.length);
  sendJson(c.res, 200, images.map((i) => imageSummary(i, c.version)));
}

/** Filters come as {"reference": {"x": true}} or {"reference": ["x"]}. */
function asList(v: string[] | Record<string, boolean> | undefined): Record<string, boolean> {
  if (!v) return {};
  return Array.isArray(v) ? Object.fromEntries(v.map((x) => [x, true])) : v;
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, ".")}$`);
}

async function tagImage(c: Ctx, store: ImageStore) {
  const img = await mustResolve(store, c.params[0]);
  const repo = c.url.searchParams.get("repo");
  if (!repo) throw badRequest("repository name (repo) is required");
  const target = parseLocalName(repo);
  const tag = c.url.searchParams.get("tag") || target.tag;
  if (target.digest) throw badRequest("refusing to create a tag with a digest reference");
  const name = formatLocal({ repository: target.repository, tag });
  await store.update((refs) => {
    refs.tags[name] = img.manifestDigest;
    refs.tagged[name] = new Date().toISOString();
  });
  c.res.writeHead(201, { "Content-Length": "0" });
  c.res.end();
}

/**
 * `docker rmi`: a tag is untagged, and the image deleted with its last tag; by ID, every tag goes, which
 * needs `force` when it has tags in several repositories (dockerd's rule). Then unreferenced blobs go.
 */
async function removeImage(c: Ctx, store: ImageStore) {
  const input = c.params[0];
  const img = await mustResolve(store, input);
  const force = truthy(c.url.searchParams.get("force"));
  let byName = false;
  try {
    const n = parseLocalName(input);
    byName = n.digest ? Boolean(store.refs.digests[formatLocal(n)]) : Boolean(store.refs.tags[formatLocal(n)]);
  } catch {
    byName = false;
  }
  const report: Record<string, string>[] = [];
  await store.update((refs) => {
    const untag = (key: string, table: Record<string, string>) => {
      delete table[key];
      delete refs.tagged[key];
      report.push({ Untagged: key });
    };
    if (byName) {
      const n = formatLocal(parseLocalName(input));
      if (refs.tags[n]) untag(n, refs.tags);
      else untag(n, refs.digests);
    } else {
      const repos = new Set(img.repoTags.map((t) => t.slice(0, t.lastIndexOf(":"))));
      if (repos.size > 1 && !force) {
        throw new DaemonError(409, `conflict: unable to delete ${img.id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
      }
      for (const t of img.repoTags) untag(t, refs.tags);
    }
    const stillTagged = Object.values(refs.tags).includes(img.manifestDigest);
    if (!stillTagged) {
      for (const [k, v] of Object.entries(refs.digests)) if (v === img.manifestDigest) {
        if (!k.startsWith("<none>")) report.push({ Untagged: k });
        delete refs.digests[k];
      }
      report.push({ Deleted: img.id });
    }
  });
  await store.gc();
  sendJson(c.res, 200, report);
}

/** `GET /distribution/{name}/json`: the registry's descriptor for a name and the platforms it has. */
async function distribution(c: Ctx, clients: RegistryClients) {
  const ref = registryRef(parseLocalName(c.params[0]));
  const client = clients.forRequest(c.req, ref.host);
  const m = await client.getManifest(ref.repository, referenceTarget(ref));
  let platforms: { architecture: string; os: string; variant?: string }[] = [];
  if (INDEX_TYPES.has(m.mediaType)) {
    platforms = parseJson<ImageIndex>(m.bytes, "index").manifests.filter((x) => x.platform).map((x) => ({ ...x.platform! }));
  } else {
    const manifest = parseJson<{ config?: { digest: string } }>(m.bytes, "manifest");
    if (manifest.config) {
      const cfg = parseJson<ImageConfig>(await client.getBlobBytes(ref.repository, manifest.config.digest), "config");
      platforms = [{ architecture: cfg.architecture ?? "", os: cfg.os ?? "", ...(cfg.variant ? { variant: cfg.variant } : {}) }];
    }
  }
  sendJson(c.res, 200, {
    Descriptor: { mediaType: m.mediaType, digest: m.digest, size: m.bytes.byteLength },
    Platforms: platforms,
  });
}
