/**
 * Renderings of transfer events: `--json` prints Docker jsonmessage objects, one a line (the stream the
 * Docker engine sends for push and pull); on a terminal, one live bar per layer; otherwise plain lines
 * for each change of a layer's state (no byte counts).
 */
import type { TransferEvents } from "../transfer/events";

type Write = (s: string) => void;

export interface Renderer extends TransferEvents {
  error(message: string): void;
  /** Flush whatever is pending (last bar states). */
  end(): void;
}

export function jsonRenderer(write: Write): Renderer {
  const last = new Map<string, number>();
  const line = (o: unknown) => write(`${JSON.stringify(o)}\n`);
  return {
    status: (status) => line({ status }),
    layer(id, status, current, total) {
      if (current !== undefined) {
        // At most ten progress lines a second per layer, and always the last one.
        const now = Date.now();
        if (current !== total && now - (last.get(id) ?? 0) < 100) return;
        last.set(id, now);
        line({ status, progressDetail: { current, ...(total ? { total } : {}) }, progress: bar(current, total, 50), id });
      } else {
        line({ status, progressDetail: {}, id });
      }
    },
    aux: (aux) => line({ progressDetail: {}, aux }),
    error: (message) => line({ errorDetail: { message }, error: message }),
    end() {},
  };
}

export function plainRenderer(write: Write): Renderer {
  const states = new Map<string, string>();
  return {
    status: (s) => write(`${s}\n`),
    layer(id, status) {
      if (states.get(id) === status) return;
      states.set(id, status);
      write(`${id}: ${status}\n`);
    },
    aux() {},
    error() {},
    end() {},
  };
}

/** Live rows: status lines stay, one row per layer is redrawn in place (ANSI cursor movement). */
export function ttyRenderer(write: Write, columns = () => process.stdout.columns || 100): Renderer {
  const rows: { id?: string; text: string }[] = [];
  const byId = new Map<string, number>();
  let drawn = 0;
  let timer: NodeJS.Timeout | null = null;
  const draw = () => {
    timer = null;
    let out = drawn ? `\x1b[${drawn}A` : "";
    const width = columns();
    for (const r of rows) out += `\x1b[2K${r.text.slice(0, width - 1)}\n`;
    drawn = rows.length;
    write(out);
  };
  const schedule = () => {
    if (!timer) timer = setTimeout(draw, 80);
  };
  return {
    status(s) {
      rows.push({ text: s });
      schedule();
    },
    layer(id, status, current, total) {
      let text = `${id}: ${status}`;
      if (current !== undefined) text += ` ${bar(current, total, 40)}`;
      const i = byId.get(id);
      if (i === undefined) {
        byId.set(id, rows.length);
        rows.push({ id, text });
      } else rows[i].text = text;
      schedule();
    },
    aux() {},
    error() {},
    end() {
      if (timer) clearTimeout(timer);
      draw();
    },
  };
}

export function humanSize(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u ? v.toFixed(v < 10 ? 2 : 1) : v}${units[u]}`;
}

/** Docker's "[=====>      ]  1.2MB/3.4MB". */
export function bar(current: number, total: number | undefined, width: number): string {
  if (!total) return humanSize(current);
  const filled = Math.min(width, Math.floor((current / total) * width));
  const arrow = filled < width ? ">" : "";
  return `[${"=".repeat(filled)}${arrow}${" ".repeat(Math.max(0, width - filled - arrow.length))}] ${humanSize(current)}/${humanSize(total)}`;
}
