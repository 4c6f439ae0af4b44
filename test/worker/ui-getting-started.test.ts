/** The getting-started page: login and CI tokens, and the pull-through cache's prefixes and mirror settings. */
import { describe, expect, it } from "vitest";
import { authEnv, users } from "./harness";
import { PASSWORDS, Visitor } from "./ui-helpers";

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
const text = async (v: Visitor) => unescape(await v.html("/getting-started"));

const HUB = { prefix: "hub", url: "https://registry-1.docker.io", mirror: true, username: "hub-user-x", password: "dckr_pat_SECRET" };
const GHCR = { prefix: "ghcr", url: "https://ghcr.io", username: "ghcr-user-y", password: "ghp_SECRET", repositories: ["myorg/*"] };
/** Anonymous callers may pull through hub/ (a public cache of Docker Hub), admin anything. */
const config = async () =>
  JSON.stringify({
    users: await users(),
    rules: [
      { users: ["anonymous"], repositories: ["hub/*", "public/*"], actions: ["pull"] },
      { users: ["admin"], repositories: ["*"], actions: ["*", "catalog"] },
    ],
  });

describe("getting started: the pull-through cache", () => {
  it("with no upstreams says how to configure one, and shows no mirror settings", async () => {
    const page = await text(new Visitor(await authEnv({ UPSTREAMS: "" })));
    expect(page).toContain("caches no other registry yet");
    expect(page).toContain('[{ "prefix": "hub", "url": "https://registry-1.docker.io", "mirror": true }]');
    expect(page).toContain("docker pull registry.test/hub/alpine");
    expect(page).not.toContain("registry-mirrors");
    expect(page).not.toContain("hosts.toml</code>,");
  });

  it("with a Docker Hub mirror shows daemon.json and hosts.toml for this host, the prefixes one may pull, never credentials", async () => {
    const e = await authEnv({ AUTH_CONFIG: await config(), UPSTREAMS: JSON.stringify([HUB, GHCR]) });
    const anon = await text(new Visitor(e));
    expect(anon).toContain("docker pull registry.test/hub/alpine");
    expect(anon).not.toContain("ghcr/"); // anonymous callers may not pull through ghcr/: not shown
    // dockerd: this registry's own origin (plain HTTP here, so insecure-registries too)
    expect(anon).toContain(JSON.stringify({ "registry-mirrors": ["http://registry.test"], "insecure-registries": ["registry.test"] }, null, 2));
    expect(anon).toContain("/etc/docker/daemon.json");
    // containerd: docker.io's hosts.toml pointing at this host
    expect(anon).toContain("/etc/containerd/certs.d/docker.io/hosts.toml");
    expect(anon).toContain('server = "https://registry-1.docker.io"\n\n[host."http://registry.test"]\n  capabilities = ["pull", "resolve"]');

    const signedIn = new Visitor(e);
    expect((await signedIn.signIn("admin", PASSWORDS.admin)).status).toBe(303);
    const all = await text(signedIn);
    expect(all).toContain("docker pull registry.test/ghcr/myorg/app");
    expect(all).toContain("ghcr.io");
    for (const page of [anon, all]) {
      for (const secret of ["dckr_pat_SECRET", "hub-user-x", "ghp_SECRET", "ghcr-user-y"]) expect(page).not.toContain(secret);
    }
  });

  it("a mirror of another registry: containerd's hosts.toml for that host, and dockerd told to use the prefix", async () => {
    const e = await authEnv({ AUTH_CONFIG: await config(), UPSTREAMS: JSON.stringify([{ prefix: "quay", url: "https://quay.io", mirror: true }]) });
    const page = await text(new Visitor(e));
    expect(page).toContain("/etc/containerd/certs.d/quay.io/hosts.toml");
    expect(page).toContain('server = "https://quay.io"');
    expect(page).toContain("registry-mirrors</code> for Docker Hub images only");
    expect(page).not.toContain('"registry-mirrors": [');
  });

  it("a visitor who may pull through no prefix is told to sign in, and learns no prefix", async () => {
    const e = await authEnv({ UPSTREAMS: JSON.stringify([GHCR]) });
    const page = await text(new Visitor(e));
    expect(page).toContain("sign in to see the ones you may pull through");
    expect(page).not.toContain("ghcr");
  });
});
