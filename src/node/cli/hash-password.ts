/**
 * `wharf hash-password`: read a password on stdin, print its hash for AUTH_CONFIG's "users" (format in
 * src/worker/auth/password.ts). Runnable today as `printf %s "$PW" | node scripts/hash-password.mjs`.
 */
import { DEFAULT_ITERATIONS, hashPassword } from "../../worker/auth/password";
import type { CommandIO } from "./token";

export async function hashPasswordCommand(args: string[], password: string, io: Pick<CommandIO, "stdout" | "stderr">): Promise<number> {
  let iterations = DEFAULT_ITERATIONS;
  if (args[0] === "--iterations" && args[1]) iterations = Number(args[1]);
  else if (args.length) {
    io.stderr("usage: wharf hash-password [--iterations N] < password");
    return 2;
  }
  const pw = password.replace(/\r?\n$/, "");
  if (!pw) {
    io.stderr("wharf hash-password: empty password on stdin");
    return 2;
  }
  try {
    io.stdout(await hashPassword(pw, iterations));
    return 0;
  } catch (e) {
    io.stderr(`wharf hash-password: ${(e as Error).message}`);
    return 1;
  }
}
