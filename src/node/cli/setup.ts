/**
 * `npm run setup` / `wharf setup`: everything a first deployment needs that nobody should type by hand.
 *
 *     npm run setup -- [--admin NAME] [--webhook URL]... [--domain HOST] [--plan free|pro|business|enterprise]
 *                      [--dir .wharf-deploy] [--run]
 *
 * - Makes the secrets once (kept in `--dir`, default `.wharf-deploy/`, git-ignored, mode 600; a second
 *   run reuses them): BLOB_URL_SECRET and AUTH_SIGNING_SECRET (32 random bytes, hex); with `--admin`, a
 *   random password for that user (printed once, kept in `<dir>/admin-password`) and an AUTH_CONFIG that
 *   gives the user everything; with `--webhook`, a WEBHOOKS entry per URL with its own random secret
 *   (printed, for the receiver). R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY, R2_ACCOUNT_ID and R2_BUCKET_NAME
 *   are copied from the environment when all four are set (they come from the dashboard; see docs/deploy.md).
 *   All of it goes into `<dir>/secrets.json` for `wrangler deploy --secrets-file`.
 * - `--plan` sets MAX_CHUNK_BYTES in wrangler.toml to the plan's request body limit; `--domain` adds
 *   the custom domain route to wrangler.toml. Nothing else in wrangler.toml is touched.
 * - Prints the exact wrangler commands, in order; `--run` runs them (stopping at the first failure;
 *   "already exists" for the bucket and queues is fine).
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { hashPassword } from "../../worker/auth/password";

export const BUCKET = "wharf";
export const EVENTS_QUEUE = "wharf-events";
export const DEAD_LETTER_QUEUE = "wharf-events-dlq";

/** Largest request body Cloudflare's edge accepts per plan (MAX_CHUNK_BYTES: refuse more with a clear error). */
export const PLAN_BODY_LIMIT: Record<string, number> = {
  free: 100_000_000,
  pro: 100_000_000,
  business: 200_000_000,
  enterprise: 500_000_000,
};

export interface SetupOptions {
  dir: string;
  /** How commands name `dir` (relative to the checkout when inside it). */
  shownDir?: string;
  admin?: string;
  webhooks: string[];
  domain?: string;
  plan?: string;
  env: Record<string, string | undefined>;
}

export interface Command {
  argv: string[];
  /** Output that means "nothing to do" rather than failure. */
  okIf?: RegExp;
  why: string;
}

export interface SetupPlan {
  secrets: Record<string, string>;
  /** Printed once: passwords and webhook secrets made now. */
  notes: string[];
  /** Files to write under dir (name → content), only those not there yet. */
  files: Record<string, string>;
  wranglerToml?: string;
  commands: Command[];
}

const hex = () => randomBytes(32).toString("hex");

export async function planSetup(o: SetupOptions, wranglerToml: string): Promise<SetupPlan> {
  if (o.plan && !(o.plan in PLAN_BODY_LIMIT)) throw new Error(`--plan must be one of ${Object.keys(PLAN_BODY_LIMIT).join(", ")}`);
  if (o.admin && !/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/.test(o.admin)) throw new Error(`--admin ${o.admin}: not a valid user name`);
  if (o.domain && !/^[a-z0-9.-]+$/i.test(o.domain)) throw new Error(`--domain ${o.domain}: give a host name, e.g. registry.example.com`);
  for (const u of o.webhooks) {
    if (!/^https?:\/\//.test(u)) throw new Error(`--webhook ${u}: an http(s) URL`);
  }
  const files: Record<string, string> = {};
  const notes: string[] = [];
  const kept = (name: string, make: () => string): string => {
    const p = join(o.dir, name);
    if (existsSync(p)) return readFileSync(p, "utf8").trim();
    const v = make();
    files[name] = v;
    return v;
  };
  const secrets: Record<string, string> = {
    BLOB_URL_SECRET: kept("blob-url-secret", hex),
    AUTH_SIGNING_SECRET: kept("auth-signing-secret", hex),
  };
  if (o.admin) {
    const existed = existsSync(join(o.dir, "admin-password"));
    const password = kept("admin-password", () => randomBytes(18).toString("base64url"));
    if (!existed) notes.push(`admin user ${o.admin}, password ${password} (also in ${join(o.dir, "admin-password")})`);
    secrets.AUTH_CONFIG = JSON.stringify({
      users: { [o.admin]: await hashPassword(password) },
      rules: [{ users: [o.admin], repositories: ["*"], actions: ["*", "catalog"] }],
    });
  }
  if (o.webhooks.length) {
    const hooks = o.webhooks.map((url, i) => {
      const name = `webhook-secret-${i + 1}`;
      const existed = existsSync(join(o.dir, name));
      const secret = kept(name, hex);
      if (!existed) notes.push(`webhook ${url}: verify Wharf-Signature with secret ${secret}`);
      return { url, secret };
    });
    secrets.WEBHOOKS = JSON.stringify(hooks);
  }
  const r2 = ["R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", "R2_ACCOUNT_ID", "R2_BUCKET_NAME"] as const;
  if (r2.every((k) => o.env[k])) for (const k of r2) secrets[k] = o.env[k]!;
  files["secrets.json"] = `${JSON.stringify(secrets, null, 2)}\n`;

  let toml = wranglerToml;
  if (o.plan) toml = setVar(toml, "MAX_CHUNK_BYTES", String(PLAN_BODY_LIMIT[o.plan]));
  if (o.domain) toml = addDomain(toml, o.domain);

  const exists = /already exists|already taken|already owned/i;
  const commands: Command[] = [
    { argv: ["npx", "wrangler", "r2", "bucket", "create", BUCKET], okIf: exists, why: "the bucket for blobs, manifests and tags" },
    { argv: ["npx", "wrangler", "queues", "create", EVENTS_QUEUE], okIf: exists, why: "events for webhooks" },
    { argv: ["npx", "wrangler", "queues", "create", DEAD_LETTER_QUEUE], okIf: exists, why: "events no endpoint accepted" },
    {
      argv: ["npm", "run", "deploy", "--", "--secrets-file", join(o.shownDir ?? o.dir, "secrets.json")],
      why: "the Worker, its Durable Object migrations, cron trigger and secrets (later deploys: npm run deploy)",
    },
  ];
  return { secrets, notes, files, wranglerToml: toml === wranglerToml ? undefined : toml, commands };
}

/** Set `[vars] NAME = "value"`, replacing the line (commented out or not) when there is one. */
export function setVar(toml: string, name: string, value: string): string {
  const line = `${name} = "${value}"`;
  const re = new RegExp(`^#?\\s*${name}\\s*=.*$`, "m");
  if (re.test(toml)) return toml.replace(re, line);
  if (/^\[vars\]\s*$/m.test(toml)) return toml.replace(/^\[vars\]\s*$/m, `[vars]\n${line}`);
  return `${toml.trimEnd()}\n\n[vars]\n${line}\n`;
}

/** A custom domain route (top-level key, so it goes before the first table). */
export function addDomain(toml: string, domain: string): string {
  const entry = `{ pattern = "${domain}", custom_domain = true }`;
  if (toml.includes(`pattern = "${domain}"`)) return toml;
  if (/^routes\s*=\s*\[/m.test(toml)) return toml.replace(/^routes\s*=\s*\[/m, `routes = [${entry}, `);
  const firstTable = toml.search(/^\[/m);
  const at = firstTable < 0 ? toml.length : firstTable;
  return `${toml.slice(0, at)}routes = [${entry}]\n\n${toml.slice(at)}`;
}

export function quote(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(" ");
}

export interface SetupIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Runs one command; resolves with its exit code and output. */
  exec: (argv: string[]) => Promise<{ code: number; output: string }>;
}

export async function setupCommand(args: string[], root: string, env: Record<string, string | undefined>, io: SetupIO): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        admin: { type: "string" },
        webhook: { type: "string", multiple: true },
        domain: { type: "string" },
        plan: { type: "string" },
        dir: { type: "string" },
        run: { type: "boolean" },
      },
    }));
  } catch (e) {
    io.stderr(`wharf setup: ${(e as Error).message}`);
    return 2;
  }
  const dir = resolve(root, values.dir ?? ".wharf-deploy");
  const rel = relative(root, dir);
  const shownDir = rel && !rel.startsWith("..") ? rel : dir;
  const tomlPath = join(root, "wrangler.toml");
  let plan: SetupPlan;
  try {
    plan = await planSetup(
      { dir, shownDir, admin: values.admin, webhooks: values.webhook ?? [], domain: values.domain, plan: values.plan, env },
      readFileSync(tomlPath, "utf8"),
    );
  } catch (e) {
    io.stderr(`wharf setup: ${(e as Error).message}`);
    return 2;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [name, content] of Object.entries(plan.files)) {
    writeFileSync(join(dir, name), content, { mode: 0o600 });
    chmodSync(join(dir, name), 0o600);
  }
  if (plan.wranglerToml) {
    writeFileSync(tomlPath, plan.wranglerToml);
    io.stdout(`wrote wrangler.toml (${[values.plan && `MAX_CHUNK_BYTES for the ${values.plan} plan`, values.domain && `custom domain ${values.domain}`].filter(Boolean).join(", ")})`);
  }
  io.stdout(`secrets in ${join(dir, "secrets.json")}: ${Object.keys(plan.secrets).join(", ")}`);
  for (const n of plan.notes) io.stdout(n);
  if (!values.run) {
    io.stdout("\nthen run (after `npx wrangler login`):\n");
    for (const c of plan.commands) io.stdout(`${quote(c.argv)}    # ${c.why}`);
    return 0;
  }
  for (const c of plan.commands) {
    io.stdout(`$ ${quote(c.argv)}`);
    const r = await io.exec(c.argv);
    if (r.code !== 0 && !(c.okIf && c.okIf.test(r.output))) {
      io.stderr(`wharf setup: ${quote(c.argv)} failed (exit ${r.code})`);
      return 1;
    }
  }
  return 0;
}
