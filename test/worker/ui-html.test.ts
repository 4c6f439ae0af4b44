/** The UI's templating: escaping by default, same-origin links, formatting. */
import { describe, expect, it } from "vitest";
import { escape, href, html, raw } from "../../src/worker/ui/html";
import { ago, bytes, shortDigest } from "../../src/worker/ui/format";
import { parseUiRef } from "../../src/worker/ui/reference";
import { safeNext } from "../../src/worker/ui/pages/sign-in";

describe("html templates", () => {
  it("escape every interpolated string, in text and in attributes", () => {
    const evil = `"><script>alert('x')</script>&`;
    const out = html`<a title="${evil}">${evil}</a>`.text;
    expect(out).toBe(`<a title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</a>`);
    expect(out).not.toContain("<script>");
  });

  it("nest templates and arrays without escaping them twice; null, undefined and false render nothing", () => {
    const items = ["a<b", "c"].map((s) => html`<li>${s}</li>`);
    expect(html`<ul>${items}${null}${undefined}${false}${0}</ul>`.text).toBe("<ul><li>a&lt;b</li><li>c</li>0</ul>");
    expect(html`${raw("<b>")}`.text).toBe("<b>");
    expect(escape("&amp;")).toBe("&amp;amp;");
  });

  it("href encodes parts and only makes same-origin paths", () => {
    expect(href(["/r/", { name: "team/app" }, ":", "v1"])).toBe("/r/team/app:v1");
    expect(href(["/r/", { name: "a" }, "@", "sha256:00"])).toBe("/r/a@sha256:00");
    expect(href(["/"], { q: "a b&c", after: undefined, n: 5 })).toBe("/?q=a+b%26c&n=5");
    expect(href(["/x/", "a?b#c"])).toBe("/x/a%3Fb%23c");
    expect(() => href(["//evil.test"])).toThrow();
    expect(() => href(["javascript:alert(1)"])).toThrow();
  });

  it("sign-in only returns to our own paths", () => {
    expect(safeNext("/r/team/app")).toBe("/r/team/app");
    for (const bad of ["//evil.test/", "https://evil.test/", "/\\evil.test", "evil", "/a\r\nSet-Cookie: x=1", null]) expect(safeNext(bad)).toBeUndefined();
  });
});

describe("formatting and references", () => {
  it("sizes, times and digests", () => {
    expect(bytes(999)).toBe("999 B");
    expect(bytes(1500)).toBe("1.5 kB");
    expect(bytes(123_456_789)).toBe("123 MB");
    expect(bytes(undefined)).toBe("—");
    const now = Date.parse("2026-12-01T12:00:00Z");
    expect(ago(new Date(now - 90_000), now)).toBe("1 minute ago");
    expect(ago(new Date(now - 3 * 3600_000), now)).toBe("3 hours ago");
    expect(ago(new Date(now), now)).toBe("just now");
    expect(shortDigest(`sha256:${"ab".repeat(32)}`)).toBe("sha256:abababababab");
  });

  it("UI paths split into name, tag or digest, and the delete step", () => {
    const d = `sha256:${"0".repeat(64)}`;
    expect(parseUiRef("team/app")).toEqual({ name: "team/app", delete: false });
    expect(parseUiRef("team/app/")).toEqual({ name: "team/app", delete: false });
    expect(parseUiRef("team/app:v1")).toEqual({ name: "team/app", tag: "v1", delete: false });
    expect(parseUiRef("team/app:v1/delete")).toEqual({ name: "team/app", tag: "v1", delete: true });
    const r = parseUiRef(`team/app@${d}/delete`);
    expect([r.name, r.digest?.toString(), r.delete]).toEqual(["team/app", d, true]);
    // a repository may be called ".../delete": without a reference the path is a name
    expect(parseUiRef("team/delete")).toEqual({ name: "team/delete", delete: false });
    for (const bad of ["Team/App", "a:bad tag", "a@sha256:zz", "", "a/../b"]) expect(() => parseUiRef(bad)).toThrow();
  });
});
