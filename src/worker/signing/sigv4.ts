/**
 * AWS Signature Version 4 query-string presigning (S3 "authenticating requests: query parameters"), as
 * R2's S3 API accepts it: region "auto", service "s3", unsigned payload, only `host` signed.
 */
import { toHex } from "../../oci/encoding";
import { hmacSha256, sha256Hex } from "./hmac";

export interface PresignRequest {
  method: string;
  host: string;
  /** Path as stored, unencoded (e.g. "/bucket/data/abc"). */
  path: string;
  region: string;
  service: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** When the signature is made. */
  date: Date;
  expiresSeconds: number;
}

/** RFC 3986 encoding as SigV4 wants it; "/" kept in paths. */
export function uriEncode(s: string, keepSlash: boolean): string {
  let out = "";
  for (const ch of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(ch);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")) out += c;
    else out += `%${ch.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function amzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** Returns the full presigned URL (https). */
export async function presignUrl(r: PresignRequest): Promise<string> {
  const datetime = amzDate(r.date);
  const day = datetime.slice(0, 8);
  const scope = `${day}/${r.region}/${r.service}/aws4_request`;
  const query: [string, string][] = [
    ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
    ["X-Amz-Credential", `${r.accessKeyId}/${scope}`],
    ["X-Amz-Date", datetime],
    ["X-Amz-Expires", String(r.expiresSeconds)],
    ["X-Amz-SignedHeaders", "host"],
  ];
  const canonicalQuery = query
    .map(([k, v]) => `${uriEncode(k, false)}=${uriEncode(v, false)}`)
    .sort()
    .join("&");
  const canonicalPath = uriEncode(r.path, true);
  const canonicalRequest = [r.method, canonicalPath, canonicalQuery, `host:${r.host}`, "", "host", "UNSIGNED-PAYLOAD"].join("\n");
  const stringToSign = ["AWS4-HMAC-SHA256", datetime, scope, await sha256Hex(canonicalRequest)].join("\n");
  let key = await hmacSha256(`AWS4${r.secretAccessKey}`, day);
  for (const part of [r.region, r.service, "aws4_request"]) key = await hmacSha256(key, part);
  const signature = toHex(await hmacSha256(key, stringToSign));
  return `https://${r.host}${canonicalPath}?${canonicalQuery}&X-Amz-Signature=${signature}`;
}

/** A presigned GET of one object in an R2 bucket. */
export function presignR2Get(
  creds: { accessKeyId: string; secretAccessKey: string; accountId: string; bucket: string },
  key: string,
  expiresSeconds: number,
  date: Date,
): Promise<string> {
  return presignUrl({
    method: "GET",
    host: `${creds.accountId}.r2.cloudflarestorage.com`,
    path: `/${creds.bucket}/${key}`,
    region: "auto",
    service: "s3",
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
    date,
    expiresSeconds,
  });
}
