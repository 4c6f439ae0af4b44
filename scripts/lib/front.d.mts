import type { Server, Socket } from "node:net";
export function firstBytes(client: Socket, pass: (first: Buffer) => void): (bytes: Buffer) => boolean;
export function frontServer(port: number, route: () => number[]): Promise<Server>;
