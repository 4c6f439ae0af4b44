/** Node entry point: the client with node:crypto's incremental SHA-256. */
import { createHash } from "node:crypto";
import type { HashFactory } from "../client/hash";
import { type ClientOptions, RegistryClient } from "../client/registry";

export const nodeHash: HashFactory = () => {
  const h = createHash("sha256");
  return {
    update: (data) => void h.update(data),
    digest: async () => `sha256:${h.digest("hex")}`,
  };
};

export function nodeClient(host: string, opts: ClientOptions = {}): RegistryClient {
  return new RegistryClient(host, { createHash: nodeHash, ...opts });
}
