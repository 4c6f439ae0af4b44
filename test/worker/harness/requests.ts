/** Requests through the real Worker (SELF, the test project's bindings) and what their answers say. */
import { SELF } from "cloudflare:test";
import { expect } from "vitest";

export const BASE = "http://registry.test";

export function req(method: string, path: string, init: RequestInit = {}): Promise<Response> {
  return SELF.fetch(path.startsWith("http") ? path : BASE + path, { method, redirect: "manual", ...init });
}

export async function expectError(res: Response, status: number, code: string): Promise<void> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { errors: { code: string }[] };
  expect(body.errors[0].code).toBe(code);
}

/** The OCI error code of an error response. */
export async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as { errors: { code: string }[] };
  return body.errors[0].code;
}
