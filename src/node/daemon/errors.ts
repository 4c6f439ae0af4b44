/**
 * Errors of the Docker Engine API as the docker CLI reads them: an HTTP status with `{"message": ...}`
 * before a response starts; once a progress stream has started, an in-stream `errorDetail`
 * (jsonstream.ts). Registry and network failures map onto the statuses dockerd uses for them.
 */
import type { ServerResponse } from "node:http";
import { NetworkError, RegistryClientError } from "../../client/errors";
import { ImageReferenceError } from "../../client/reference";

export class DaemonError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "DaemonError";
  }
}

export const notFound = (message: string) => new DaemonError(404, message);
export const badRequest = (message: string) => new DaemonError(400, message);

/** The Engine API's answer to an endpoint this mode does not implement. */
export function notImplemented(method: string, path: string, mode: string): DaemonError {
  return new DaemonError(501, `${method} ${path} is not supported by wharf daemon (${mode}); it serves images only: pull, push, tag, images, inspect, history, rmi, save, load, login`);
}

/** Status and message for any error. */
export function describeError(err: unknown): { status: number; message: string } {
  if (err instanceof DaemonError) return { status: err.status, message: err.message };
  if (err instanceof ImageReferenceError) return { status: 400, message: err.message };
  if (err instanceof RegistryClientError) {
    // A registry's 401 is not the daemon's: dockerd answers it with 500 (a 401 makes the docker CLI
    // prompt for a login on stdin, and wait there when stdin is not a terminal). POST /auth answers 401 itself.
    const status = err.status === 403 || err.status === 404 ? err.status : 500;
    const hint = err.status === 401 ? " (docker login to that registry first)" : "";
    return { status, message: err.message + (err.status ? ` (registry answered HTTP ${err.status})` : "") + hint };
  }
  if (err instanceof NetworkError) return { status: 500, message: err.message };
  if (err instanceof Error) return { status: 500, message: err.message };
  return { status: 500, message: String(err) };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const { status, message } = describeError(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { message });
}
