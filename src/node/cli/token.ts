/**
 * `wharf token create`: mint a long-lived scoped CI token offline with the registry's signing secret.
 *
 *     wharf token create --repo 'ci/*' [--repo 'cache/*'] --actions pull,push [--ttl 30d] [--name deploy]
 *                        [--service wharf] [--secret-file path]          (secret: AUTH_SIGNING_SECRET or the file)
 *
 * Prints the token alone on stdout (so `TOKEN=$(...)` works) and its id and expiry on stderr; `--json`
 * prints {token, id, expiresAt, access} instead. Revoke with AUTH_REVOKED_TOKENS=<id>.
 * Runnable today as `node scripts/token.mjs create ...`; the CLI dispatches `wharf token` here.
 */
import { mintCiToken, parseTtl } from "../../worker/auth/ci-token";
import { toAccessClaim } from "../../worker/auth/grants";

export interface CommandIO {
  env: Record<string, string | undefined>;
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  readFile: (path: string) => Promise<string>;
}

export const TOKEN_USAGE = `usage: wharf token create --repo <pattern> [--repo ...] --actions pull,push[,delete][,catalog]
                          [--ttl 30d] [--name <label>] [--service <AUTH_SERVICE>] [--secret-file <path>] [--json]
The signing secret is AUTH_SIGNING_SECRET from the environment, or the contents of --secret-file.`;

/** Returns the process exit code. */
export async function tokenCommand(args: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "create") {
    io.stderr(TOKEN_USAGE);
    return sub === "--help" || sub === "-h" ? 0 : 2;
  }
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(rest);
  } catch (e) {
    io.stderr(`wharf token: ${(e as Error).message}\n${TOKEN_USAGE}`);
    return 2;
  }
  try {
    const secret = opts.secretFile ? (await io.readFile(opts.secretFile)).trim() : io.env.AUTH_SIGNING_SECRET;
    if (!secret) throw new Error("no signing secret: set AUTH_SIGNING_SECRET or pass --secret-file");
    const t = await mintCiToken(secret, {
      repositories: opts.repos,
      actions: opts.actions,
      ttlSeconds: parseTtl(opts.ttl),
      name: opts.name,
      service: opts.service ?? io.env.AUTH_SERVICE,
    });
    if (opts.json) {
      io.stdout(JSON.stringify({ token: t.token, id: t.id, expiresAt: t.expiresAt.toISOString(), access: toAccessClaim(t.permissions) }));
    } else {
      io.stdout(t.token);
      io.stderr(`token id ${t.id} (revoke: AUTH_REVOKED_TOKENS=${t.id}), expires ${t.expiresAt.toISOString()}`);
    }
    return 0;
  } catch (e) {
    io.stderr(`wharf token: ${(e as Error).message}`);
    return 1;
  }
}

function parseArgs(args: string[]) {
  const o = { repos: [] as string[], actions: [] as string[], ttl: "30d", name: undefined as string | undefined, service: undefined as string | undefined, secretFile: undefined as string | undefined, json: false };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].includes("=") ? [args[i].slice(0, args[i].indexOf("=")), args[i].slice(args[i].indexOf("=") + 1)] : [args[i], undefined];
    if (flag === "--json") {
      o.json = true;
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    switch (flag) {
      case "--repo":
        o.repos.push(value);
        break;
      case "--actions":
        o.actions.push(...value.split(",").map((a) => a.trim()).filter(Boolean));
        break;
      case "--ttl":
        o.ttl = value;
        break;
      case "--name":
        o.name = value;
        break;
      case "--service":
        o.service = value;
        break;
      case "--secret-file":
        o.secretFile = value;
        break;
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  return o;
}
