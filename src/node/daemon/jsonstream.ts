/**
 * A Docker jsonmessage progress stream on an HTTP response: what `POST /images/create` and
 * `POST /images/{name}/push` answer, and what the docker CLI renders as progress bars. Transfer events
 * (src/node/transfer/events.ts) are written by the CLI's own jsonmessage renderer
 * (src/node/cli/progress.ts), so `wharf --json` and the daemon speak the same lines.
 *
 * Once `open` has sent the 200, an error can only be reported in the stream (`errorDetail`); before it,
 * handlers throw and the caller answers with an HTTP status (errors.ts).
 */
import type { ServerResponse } from "node:http";
import { jsonRenderer, type Renderer } from "../cli/progress";
import type { TransferEvents } from "../transfer/events";
import { describeError } from "./errors";

export interface JsonStream {
  events: Renderer;
  /** `{"status", "id"}`: a line that belongs to one item (a tag being pulled). */
  statusFor(id: string, status: string): void;
  /** `{"stream": ...}`, as `docker load` prints it. */
  stream(text: string): void;
  error(err: unknown): void;
  end(): void;
  /** True when the client went away. */
  readonly closed: boolean;
}

export function openStream(res: ServerResponse): JsonStream {
  res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache" });
  res.flushHeaders();
  let closed = false;
  res.on("close", () => (closed = true));
  const write = (s: string) => {
    if (!closed) res.write(s);
  };
  const line = (o: unknown) => write(`${JSON.stringify(o)}\n`);
  const events = jsonRenderer(write);
  return {
    events,
    statusFor: (id, status) => line({ status, id }),
    stream: (text) => line({ stream: text }),
    error: (err) => events.error(describeError(err).message),
    end: () => {
      events.end();
      if (!closed) res.end();
    },
    get closed() {
      return closed;
    },
  };
}

/** Events minus those of some blobs (a config is a blob to the registry, not a layer to docker). */
export function withoutIds(events: TransferEvents, hidden: Set<string>): TransferEvents {
  return {
    status: (s) => events.status(s),
    layer: (id, status, current, total) => {
      if (!hidden.has(id)) events.layer(id, status, current, total);
    },
    aux: (a) => events.aux(a),
  };
}
