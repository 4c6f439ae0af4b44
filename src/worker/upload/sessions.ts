/**
 * The Worker's side of upload sessions: creates them, finds them by the id in their URL, and turns the
 * session's plain results back into thrown DomainErrors.
 */
import type { Env } from "../config";
import type { Settings } from "../settings";
import { DomainError } from "../domain-errors";
import type { CommittedBlob, SessionResult, SessionStatus, UploadSession } from "./session";

export class UploadSessions {
  constructor(
    private readonly ns: Env["UPLOADS"],
    private readonly settings: Settings,
  ) {}

  async create(repo: string): Promise<{ id: string; status: SessionStatus }> {
    const id = this.ns.newUniqueId();
    const status = unwrap(await this.ns.get(id).init(repo, this.settings.UPLOAD_PART_SIZE, this.settings.UPLOAD_SESSION_TTL_SECONDS));
    return { id: id.toString(), status };
  }

  async status(id: string, repo: string): Promise<SessionStatus> {
    return unwrap(await this.stub(id).status(repo));
  }

  async append(
    id: string,
    repo: string,
    body: ReadableStream<Uint8Array>,
    start: number | null,
    length: number | null,
  ): Promise<SessionStatus> {
    return unwrap(await this.stub(id).append(repo, body, start, length));
  }

  async finish(
    id: string,
    repo: string,
    digest: string,
    body: ReadableStream<Uint8Array> | null,
    start: number | null,
    length: number | null,
  ): Promise<CommittedBlob> {
    return unwrap(await this.stub(id).finish(repo, digest, body, start, length));
  }

  async cancel(id: string, repo: string): Promise<void> {
    unwrap(await this.stub(id).cancel(repo));
  }

  private stub(id: string): DurableObjectStub<UploadSession> {
    let doId: DurableObjectId;
    try {
      if (!/^[0-9a-f]{64}$/.test(id)) throw new Error("malformed");
      doId = this.ns.idFromString(id);
    } catch {
      throw new DomainError("UPLOAD_UNKNOWN");
    }
    return this.ns.get(doId);
  }
}

function unwrap<T>(r: SessionResult<T>): T {
  if (r.ok) return r.value;
  throw DomainError.fromPlain(r.error);
}
