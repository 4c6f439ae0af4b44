/**
 * The docker CLI (/usr/local/bin/docker, or DOCKER_CLI) bound to one DOCKER_HOST with a config folder of
 * its own (credentials from `docker login`), returning exit code, stdout and stderr (never throwing), so
 * tests can check refusals too. stdin always ends: the CLI asks for a login on stdin when a daemon answers
 * 401, and would wait there.
 */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DOCKER_CLI } from "./dockerd";

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DockerCli {
  host: string;
  configDir: string;
  docker(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<DockerResult>;
}

export function dockerCli(host: string, configDir = mkdtempSync(join(tmpdir(), "wharf-docker-cfg-"))): DockerCli {
  return {
    host,
    configDir,
    docker: (args, opts = {}) => new Promise((resolve) => {
      const child = execFile(DOCKER_CLI, args, {
        env: { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: configDir, DOCKER_CLI_HINTS: "false" },
        timeout: opts.timeoutMs ?? 180_000,
        maxBuffer: 64 << 20,
      }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
      child.stdin!.end(opts.input ?? "");
    }),
  };
}
