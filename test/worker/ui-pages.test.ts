/** Each UI page's HTML through the real Worker: repositories, tags, index, image, referrer, getting started, errors. */
import { describe, expect, it } from "vitest";
import { authEnv } from "./harness";
import { call } from "./harness";
import { admin, alice, pushIndex, pushReferrer, pushRichImage, Visitor } from "./ui-helpers";
import { CSP } from "../../src/worker/ui/layout";
import { Repositories } from "../../src/worker/repository/client";

describe("page shell", () => {
  it("every page sends a strict CSP, no-store, nosniff and loads only our own stylesheet and script", async () => {
    const e = await authEnv();
    for (const path of ["/", "/getting-started", "/sign-in", "/no/such/page", "/r/public/none"]) {
      const res = await call(e, "GET", path);
      expect(res.headers.get("Content-Security-Policy"), path).toBe(CSP);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(res.headers.get("X-Frame-Options")).toBe("DENY");
      const text = await res.text();
      expect(text).toContain('<link rel="stylesheet" href="/static/wharf.css">');
      expect(text).not.toMatch(/<script>|style="|\son[a-z]+="|(?:href|src|action)="https?:\/\/(?!registry\.test)/);
    }
    expect(CSP).toContain("default-src 'none'");
    expect(CSP).toContain("script-src 'self'");
    expect(CSP).toContain("frame-ancestors 'none'");
    const css = await call(e, "GET", "/static/wharf.css");
    expect(css.headers.get("Content-Type")).toBe("text/css; charset=utf-8");
    expect(await css.text()).toContain("prefers-color-scheme:dark");
    expect((await call(e, "GET", "/static/copy.js")).headers.get("Content-Type")).toBe("text/javascript; charset=utf-8");
    expect((await call(e, "GET", "/static/nothing.js")).status).toBe(404);
  });

  it("unknown pages and methods get HTML error pages, the API keeps its JSON errors", async () => {
    const e = await authEnv();
    const missing = await call(e, "GET", "/nothing-here");
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain("<h1>Not found</h1>");
    const put = await call(e, "PUT", "/getting-started");
    expect(put.status).toBe(405);
    expect(put.headers.get("Allow")).toBe("GET, HEAD");
    const api = await call(e, "GET", "/v2/nothing/here");
    expect(api.headers.get("Content-Type")).toBe("application/json");
    // malformed percent-encoding is the client's mistake: a 404 page in HTML, a 400 in JSON for the API
    const bad = await call(e, "GET", "/r/%zz");
    expect(bad.status).toBe(404);
    expect(bad.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    expect((await call(e, "GET", "/v2/%zz/tags/list")).status).toBe(400); // the API: 400 NAME_INVALID (issue 10)
    const head = await call(e, "HEAD", "/");
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });
});

describe("repositories page", () => {
  it("lists repositories with tag count, latest tag, size and last push, and searches by name", async () => {
    const e = await authEnv();
    await pushRichImage(e, "public/web", "1.0", alice());
    await pushRichImage(e, "public/web", "1.1", alice());
    await pushRichImage(e, "public/db", "15", alice());
    const v = new Visitor(e);
    const page = await v.html("/");
    expect(page).toContain('<a href="/r/public/web">public/web</a>');
    expect(page).toContain('<a href="/r/public/db">public/db</a>');
    const row = page.slice(page.indexOf("/r/public/web\""), page.indexOf("</tr>", page.indexOf("/r/public/web\"")));
    expect(row).toMatch(/<td class="num">2<\/td>/);
    expect(row).toContain('<a href="/r/public/web:1.1">1.1</a>');
    expect(row).toMatch(/\d+ B<\/td>/);
    expect(row).toMatch(/datetime="20\d\d-/);
    const found = await v.html("/?q=db");
    expect(found).toContain("public/db");
    expect(found).not.toContain("public/web");
    expect(found).toContain('value="db"');
    expect(await v.html("/?q=%22%3E%3Cscript%3E")).toContain("&quot;&gt;&lt;script&gt;");
  });

  it("pages through repositories 20 at a time", async () => {
    const e = await authEnv();
    for (let i = 0; i < 22; i++) await pushRichImage(e, `public/pg/r${String(i).padStart(2, "0")}`, "v", alice());
    const v = new Visitor(e);
    const first = await v.html("/?q=pg/");
    expect(first.match(/<tr>/g)!.length).toBe(20 + 1);
    const next = /href="([^"]+)" rel="next"/.exec(first)![1].replace(/&amp;/g, "&");
    expect(next).toBe("/?q=pg%2F&after=public%2Fpg%2Fr19");
    const second = await v.html(next);
    expect(second).toContain("public/pg/r20");
    expect(second).toContain("public/pg/r21");
    expect(second).not.toContain("public/pg/r19<");
    expect(second).not.toContain('rel="next"');
  });
});

describe("tags page", () => {
  it("shows each tag's digest, kind, size and push time, pages with ?after and filters by prefix", async () => {
    const e = await authEnv();
    const d1 = await pushRichImage(e, "public/app", "v1", alice());
    const idx = await pushIndex(e, "public/app", "multi", alice());
    const v = new Visitor(e);
    const page = await v.html("/r/public/app");
    expect(page).toContain('<a href="/r/public/app:v1">v1</a>');
    expect(page).toContain(`<a href="/r/public/app@${d1}"><code>${d1.slice(0, 19)}</code></a>`);
    expect(page).toContain("index: linux/amd64, linux/arm64/v8");
    expect(page).toContain(`href="/r/public/app@${idx.digest}"`);
    expect(page).toContain("docker pull registry.test/public/app:multi");
    const one = await v.html("/r/public/app?n=1");
    expect(one).toContain(":multi\"");
    expect(one).not.toContain(":v1\"");
    expect(one).toContain('href="/r/public/app?n=1&amp;after=multi" rel="next"');
    const second = await v.html("/r/public/app?n=1&after=multi");
    expect(second).toContain(":v1\"");
    const filtered = await v.html("/r/public/app?q=v");
    expect(filtered).toContain(":v1\"");
    expect(filtered).not.toContain(":multi\"");
  });

  it("sizes are recorded at push: an image's config and layers, an index the sum of its platforms", async () => {
    const e = await authEnv();
    await pushIndex(e, "public/sized", "multi", alice());
    const admin_ = new Visitor(e);
    const page = await admin_.html("/r/public/sized");
    const sizes = [...page.matchAll(/<td class="num">([^<]+)<\/td>/g)].map((m) => m[1]);
    expect(sizes.length).toBe(1);
    expect(sizes[0]).toMatch(/^\d+ B$/);
    const idxPage = await admin_.html("/r/public/sized:multi");
    const platformSizes = [...idxPage.matchAll(/<td class="num">(\d+) B<\/td>/g)].map((m) => Number(m[1]));
    expect(platformSizes.length).toBe(2);
    expect(sizes[0]).toBe(`${platformSizes[0] + platformSizes[1]} B`);
  });
});

describe("manifest pages", () => {
  it("an index lists its platforms, its referrers by artifactType and pull commands by tag and digest", async () => {
    const e = await authEnv();
    const idx = await pushIndex(e, "public/app", "multi", alice());
    const sbom = await pushReferrer(e, "public/app", idx.digest, alice());
    const sig = await pushReferrer(e, "public/app", idx.digest, alice(), "application/vnd.dev.cosign.artifact.sig.v1+json");
    const page = await new Visitor(e).html("/r/public/app:multi");
    expect(page).toContain("<h1>public/app:multi</h1>");
    expect(page).toContain(`<a href="/r/public/app@${idx.amd}">linux/amd64</a>`);
    expect(page).toContain(`<a href="/r/public/app@${idx.arm}">linux/arm64/v8</a>`);
    expect(page).toContain("<code>application/spdx+json</code>");
    expect(page).toContain("<code>application/vnd.dev.cosign.artifact.sig.v1+json</code>");
    expect(page).toContain(`href="/r/public/app@${sbom}"`);
    expect(page).toContain(`href="/r/public/app@${sig}"`);
    for (const cmd of [
      "docker pull registry.test/public/app:multi",
      `docker pull registry.test/public/app@${idx.digest}`,
      "podman pull --tls-verify=false registry.test/public/app:multi",
      `skopeo copy --src-tls-verify=false docker://registry.test/public/app@${idx.digest} oci:app`,
      "crane pull --insecure registry.test/public/app:multi app.tar",
      "wharf pull --insecure registry.test/public/app:multi app.tar",
    ]) {
      expect(page).toContain(`<code>${cmd}</code>`);
      expect(page).toContain(`data-copy="${cmd}"`);
    }
  });

  it("an image shows layers, sizes and its configuration, escaped", async () => {
    const e = await authEnv();
    const d = await pushRichImage(e, "public/app", "v1", alice());
    const page = await new Visitor(e).html(`/r/public/app@${d}`);
    expect(page).toContain("<h2>Layers</h2>");
    expect(page.match(/application\/vnd\.oci\.image\.layer\.v1\.tar\+gzip/g)!.length).toBe(2);
    expect(page).toContain("<dt>Platform</dt><dd>linux/amd64</dd>");
    expect(page).toContain("<code>[&quot;/bin/app&quot;]</code>");
    expect(page).toContain("&quot;&lt;script&gt;&quot;");
    expect(page).toContain("GREETING=&lt;b&gt;hi&lt;/b&gt;");
    expect(page).toContain("<code>org.opencontainers.image.source</code>");
    expect(page).toContain("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(page).not.toContain("<script>alert");
    expect(page).toContain("COPY app /bin/app # v1");
    expect(page).toContain("2026-11-30 10:00 UTC");
  });

  it("a referrer links back to its subject; unknown tags and digests are 404 pages", async () => {
    const e = await authEnv();
    const idx = await pushIndex(e, "public/app", "multi", alice());
    const sbom = await pushReferrer(e, "public/app", idx.digest, alice());
    const v = new Visitor(e);
    const page = await v.html(`/r/public/app@${sbom}`);
    expect(page).toContain("<dt>Artifact type</dt><dd><code>application/spdx+json</code></dd>");
    expect(page).toContain(`<dt>Refers to</dt><dd><a href="/r/public/app@${idx.digest}">`);
    expect(page).toContain("org.opencontainers.image.created");
    expect(await v.html("/r/public/app:nope", 404)).toContain("public/app has no tag nope");
    expect(await v.html(`/r/public/app@sha256:${"1".repeat(64)}`, 404)).toContain("Not found");
    expect(await v.html("/r/public/app@sha256:xyz", 404)).toContain("Not found");
  });
});

describe("getting started", () => {
  it("shows docker login for this host, CI tokens and copy buttons", async () => {
    const page = await new Visitor(await authEnv()).html("/getting-started");
    expect(page).toContain("<code>docker login registry.test -u &lt;user&gt;</code>");
    expect(page).toContain("wharf token create --repo &#39;ci/*&#39; --actions pull,push --ttl 30d");
    expect(page).toContain("insecure-registries");
    expect(page).toMatch(/data-copy="docker login registry.test -u &lt;user&gt;" hidden/);
  });

  it("without authentication it says no login is needed", async () => {
    const page = await new Visitor(await authEnv({ AUTH_CONFIG: undefined, AUTH_SIGNING_SECRET: undefined })).html("/getting-started");
    expect(page).toContain("no authentication configured");
    expect(page).not.toContain("docker login");
  });
});

describe("storage: tag details", () => {
  it("a tag written before details were recorded shows its size as unknown", async () => {
    const e = await authEnv();
    await pushRichImage(e, "public/old", "v1", admin());
    // rewrite the tag object as older versions wrote it: digest only
    const key = "repositories/public/old/_manifests/tags/v1";
    const obj = (await e.BUCKET.get(key))!;
    await e.BUCKET.put(key, await obj.arrayBuffer(), { httpMetadata: obj.httpMetadata, customMetadata: { digest: obj.customMetadata!.digest, inline: "1" } });
    // Such tags are in repositories pushed before the tag index, whose index is built from R2.
    expect(await new Repositories(e.REPOSITORIES).rebuildTagIndex("public/old")).toBe(true);
    const page = await new Visitor(e).html("/r/public/old");
    expect(page).toContain('<td class="num">—</td>');
    expect(page).toContain(":v1\"");
  });
});
