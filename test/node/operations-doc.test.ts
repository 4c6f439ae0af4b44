// docs/operations.md documents every metric and every WEBHOOKS field the code knows; wrangler.toml has the bindings it names.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { METRICS } from "../../src/worker/metrics/names";
import { LABEL_COLUMNS } from "../../src/worker/metrics/analytics";

const doc = readFileSync(new URL("../../docs/operations.md", import.meta.url), "utf8");
const deploy = readFileSync(new URL("../../docs/deploy.md", import.meta.url), "utf8");
const toml = readFileSync(new URL("../../wrangler.toml", import.meta.url), "utf8");

describe("operations and deploy docs", () => {
  it("have a row and a query for every metric", () => {
    for (const name of Object.values(METRICS)) {
      expect(doc, name).toContain(`| \`${name}\` |`);
      expect(doc, name).toMatch(new RegExp(`blob1 (=|IN \\([^)]*)\\s*'?${name}'`));
    }
  });

  it("describe the column layout the writer uses", () => {
    LABEL_COLUMNS.forEach((label, i) => expect(doc).toMatch(new RegExp(`\\| \`blob${i + 2}\` \\| ${label}`, "i")));
  });

  it("name the queues, bucket and bindings wrangler.toml declares", () => {
    for (const q of ["wharf-events", "wharf-events-dlq"]) {
      expect(toml).toContain(`queue = "${q}"`);
      expect(deploy).toContain(`npx wrangler queues create ${q}`);
    }
    expect(toml).toContain('bucket_name = "wharf"');
    expect(deploy).toContain("npx wrangler r2 bucket create wharf");
    for (const b of ["BUCKET", "UPLOADS", "LIMITER", "EVENTS", "EVENTS_DLQ", "METRICS"]) expect(toml, b).toMatch(new RegExp(`(binding|name) = "${b}"`));
    expect(toml).toMatch(/dataset = "wharf"/);
    expect(toml).toMatch(/tag = "v2-ops"\nnew_sqlite_classes = \["RateWindow"\]/);
  });
});
