export interface Received {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
export interface Receiver {
  port: number;
  url: string;
  received(path: string): Received[];
  close(): Promise<void>;
}
export function startReceiver(port?: number): Promise<Receiver>;
