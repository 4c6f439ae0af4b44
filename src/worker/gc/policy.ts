/**
 * Retention policies and immutable-tag rules: their JSON shapes (validated once, as settings), and the
 * pure decisions made from them. No storage here.
 *
 *   RETENTION      [{"repositories": ["ci/*"], "keepLast": 10, "keep": ["latest", "v*"],
 *                    "olderThanSeconds": 2592000, "untaggedOlderThanSeconds": 604800}]
 *   IMMUTABLE_TAGS [{"repositories": ["prod/*"], "tags": ["v*", "release-*"]}]
 *
 * Patterns: `*` stands for any run of characters ("/" included for repositories), everything else is
 * literal. The first RETENTION rule whose repositories match a repository is its policy.
 *
 * Tag decision (a policy with keepLast and/or olderThanSeconds): a tag is dropped when it matches no
 * `keep` pattern, is not immutable, is not among the newest `keepLast` tags by push time (when given) AND
 * is older than `olderThanSeconds` (when given). Both given: both must hold (keep the last 10, and of the
 * rest drop only what is older than 30 days).
 * Manifest decision (untaggedOlderThanSeconds): a manifest not reachable from a kept tag (directly, as a
 * child of an index, or as a referrer of a reachable manifest) and pushed longer ago than that is
 * dropped. Without it, untagged manifests stay.
 * Pull-through cache eviction (PROXY_EVICT_AFTER_SECONDS, repositories under an upstream's prefix only):
 * a cached manifest last used longer ago than that (its last pull, or without one its upload time) goes,
 * unless a recently used manifest reaches it (child of an index, referrer); a tag goes with the manifest
 * it points at. It applies besides any RETENTION rule of the repository.
 */

export interface RetentionRule {
  repositories: string[];
  keepLast?: number;
  keep?: string[];
  olderThanSeconds?: number;
  untaggedOlderThanSeconds?: number;
}

export interface ImmutableRule {
  repositories: string[];
  tags: string[];
}

const compiled = new Map<string, RegExp>();

/** Glob match: `*` is any run of characters, the rest is literal. */
export function glob(pattern: string, value: string): boolean {
  if (!pattern.includes("*")) return pattern === value;
  let re = compiled.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split("*").map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re.test(value);
}

const anyOf = (patterns: readonly string[] | undefined, value: string) => (patterns ?? []).some((p) => glob(p, value));

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function patterns(v: unknown, where: string, required: boolean): string[] | undefined {
  if (v === undefined && !required) return undefined;
  if (!Array.isArray(v) || v.some((p) => typeof p !== "string" || p === "")) throw new Error(`${where} must be a list of patterns (strings)`);
  if (required && v.length === 0) throw new Error(`${where} must name at least one pattern`);
  return v as string[];
}

function count(v: unknown, where: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new Error(`${where} must be a whole number ≥ 0`);
  return v;
}

const RETENTION_KEYS = new Set(["repositories", "keepLast", "keep", "olderThanSeconds", "untaggedOlderThanSeconds"]);

/** The RETENTION setting's validator. */
export function parseRetention(v: unknown): RetentionRule[] {
  if (!Array.isArray(v)) throw new Error('a JSON array of {"repositories": [...], "keepLast"?, "keep"?, "olderThanSeconds"?, "untaggedOlderThanSeconds"?}');
  return v.map((r, i) => {
    const where = `[${i}]`;
    if (!isObject(r)) throw new Error(`${where} must be an object`);
    for (const k of Object.keys(r)) if (!RETENTION_KEYS.has(k)) throw new Error(`${where}: unknown field ${k}`);
    const rule: RetentionRule = { repositories: patterns(r.repositories, `${where}.repositories`, true)! };
    const keepLast = count(r.keepLast, `${where}.keepLast`);
    const keep = patterns(r.keep, `${where}.keep`, false);
    const older = count(r.olderThanSeconds, `${where}.olderThanSeconds`);
    const untagged = count(r.untaggedOlderThanSeconds, `${where}.untaggedOlderThanSeconds`);
    if (keepLast === undefined && older === undefined && untagged === undefined) {
      throw new Error(`${where} says nothing to drop: give keepLast, olderThanSeconds or untaggedOlderThanSeconds`);
    }
    if (keepLast !== undefined) rule.keepLast = keepLast;
    if (keep) rule.keep = keep;
    if (older !== undefined) rule.olderThanSeconds = older;
    if (untagged !== undefined) rule.untaggedOlderThanSeconds = untagged;
    return rule;
  });
}

/** The IMMUTABLE_TAGS setting's validator. */
export function parseImmutableTags(v: unknown): ImmutableRule[] {
  if (!Array.isArray(v)) throw new Error('a JSON array of {"repositories": [...], "tags": [...]}');
  return v.map((r, i) => {
    const where = `[${i}]`;
    if (!isObject(r)) throw new Error(`${where} must be an object`);
    for (const k of Object.keys(r)) if (k !== "repositories" && k !== "tags") throw new Error(`${where}: unknown field ${k}`);
    return { repositories: patterns(r.repositories, `${where}.repositories`, true)!, tags: patterns(r.tags, `${where}.tags`, true)! };
  });
}

export function isImmutable(rules: readonly ImmutableRule[], repo: string, tag: string): boolean {
  return rules.some((r) => anyOf(r.repositories, repo) && anyOf(r.tags, tag));
}

/** Is `repo` a pull-through cache repository (`<upstream prefix>/...`)? */
export function isCacheRepository(prefixes: readonly string[], repo: string): boolean {
  return prefixes.some((p) => repo.startsWith(`${p}/`));
}

export function policyFor(rules: readonly RetentionRule[], repo: string): RetentionRule | undefined {
  return rules.find((r) => anyOf(r.repositories, repo));
}

export interface TagFact {
  tag: string;
  /** Push time, ms. */
  uploaded: number;
}

/** The tags a policy drops (see the header), given every tag of one repository. */
export function tagsToDrop(policy: RetentionRule, immutable: readonly ImmutableRule[], repo: string, tags: TagFact[], now: number): string[] {
  if (policy.keepLast === undefined && policy.olderThanSeconds === undefined) return [];
  const newestFirst = [...tags].sort((a, b) => b.uploaded - a.uploaded || (a.tag < b.tag ? -1 : 1));
  const out: string[] = [];
  newestFirst.forEach((t, rank) => {
    if (anyOf(policy.keep, t.tag) || isImmutable(immutable, repo, t.tag)) return;
    if (policy.keepLast !== undefined && rank < policy.keepLast) return;
    if (policy.olderThanSeconds !== undefined && now - t.uploaded <= policy.olderThanSeconds * 1000) return;
    out.push(t.tag);
  });
  return out;
}

export interface ManifestFact {
  digest: string;
  uploaded: number;
  children: string[];
  subject?: string;
}

/**
 * The manifests of one repository that are dropped: every manifest not reachable from a root, where roots
 * are manifests that keep a tag, plus (without untaggedOlderThanSeconds, or when younger than it) every
 * manifest; and, under any policy or none, a referrer whose subject is gone (not in the repository, or
 * dropped) once it is older than the grace period. Reachable: children of an index, referrers of a
 * reachable manifest.
 */
export function manifestsToDrop(
  policy: RetentionRule | undefined,
  manifests: ManifestFact[],
  taggedKept: ReadonlySet<string>,
  now: number,
  graceMs: number,
): Set<string> {
  const untaggedMs = policy?.untaggedOlderThanSeconds !== undefined ? policy.untaggedOlderThanSeconds * 1000 : undefined;
  const byDigest = new Map(manifests.map((m) => [m.digest, m]));
  const referrersOf = new Map<string, string[]>();
  for (const m of manifests) if (m.subject) referrersOf.set(m.subject, [...(referrersOf.get(m.subject) ?? []), m.digest]);

  const reachable = new Set<string>();
  const stack: string[] = [];
  const isRoot = (m: ManifestFact) => {
    if (taggedKept.has(m.digest)) return true;
    if (m.subject) return now - m.uploaded <= graceMs; // a referrer lives by its subject (or its youth)
    return untaggedMs === undefined || now - m.uploaded <= untaggedMs;
  };
  for (const m of manifests) if (isRoot(m)) stack.push(m.digest);
  while (stack.length) {
    const d = stack.pop()!;
    if (reachable.has(d)) continue;
    reachable.add(d);
    const m = byDigest.get(d);
    for (const c of m?.children ?? []) if (byDigest.has(c)) stack.push(c);
    for (const r of referrersOf.get(d) ?? []) stack.push(r);
  }
  return new Set(manifests.filter((m) => !reachable.has(m.digest)).map((m) => m.digest));
}

export interface CachedManifestFact {
  digest: string;
  /** Last use, ms: the last recorded pull, or without one the revision's upload time. */
  lastUse: number;
  children: string[];
  subject?: string;
}

/**
 * What pull-through cache eviction drops from one cache repository (see the header): the manifests no
 * recently used manifest reaches, and the tags pointing at them.
 */
export function cachedToEvict(
  manifests: CachedManifestFact[],
  tags: { tag: string; digest: string; immutable?: boolean }[],
  now: number,
  evictMs: number,
): { manifests: Set<string>; tags: string[] } {
  const byDigest = new Map(manifests.map((m) => [m.digest, m]));
  const referrersOf = new Map<string, string[]>();
  for (const m of manifests) if (m.subject) referrersOf.set(m.subject, [...(referrersOf.get(m.subject) ?? []), m.digest]);
  const kept = new Set<string>();
  // Roots: what was used recently, and what an immutable tag points at (immutable tags never go).
  const stack = manifests.filter((m) => now - m.lastUse <= evictMs).map((m) => m.digest);
  for (const t of tags) if (t.immutable) stack.push(t.digest);
  while (stack.length) {
    const d = stack.pop()!;
    if (kept.has(d)) continue;
    kept.add(d);
    for (const c of byDigest.get(d)?.children ?? []) if (byDigest.has(c)) stack.push(c);
    for (const r of referrersOf.get(d) ?? []) stack.push(r);
  }
  const evicted = new Set(manifests.filter((m) => !kept.has(m.digest)).map((m) => m.digest));
  // A tag whose manifest is not in the inventory (deleted meanwhile) is left to the repository's own rules.
  return { manifests: evicted, tags: tags.filter((t) => !t.immutable && evicted.has(t.digest)).map((t) => t.tag) };
}
