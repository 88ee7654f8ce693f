// The decision-cache key: a hash of the policy version and of exactly the parts of the input
// the loaded policy can read (LoadedPolicy.inputPaths, derived from the compiled policy), or of
// the whole input when the backend cannot say. Fields the policy never reads (session id, call
// counters a policy ignores, time) then do not split the cache.
import { createHash } from "node:crypto";
import type { DecisionInput } from "./input.js";

/** A trie of input paths; `true` marks a path whose whole subtree is read. */
type PathTrie = Map<string, PathTrie | true>;

function buildTrie(paths: readonly (readonly string[])[]): PathTrie {
  const root: PathTrie = new Map();
  for (const path of paths) {
    let node = root;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i] as string;
      const existing = node.get(seg);
      if (existing === true) break; // an ancestor already covers the whole subtree
      if (i === path.length - 1) {
        node.set(seg, true);
        break;
      }
      let next = existing;
      if (next === undefined) {
        next = new Map();
        node.set(seg, next);
      }
      node = next;
    }
  }
  return root;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * JSON text of the projection of `value` on `trie`: the listed keys in trie order (absent keys
 * omitted), whole subtrees where a path ends, and the whole value where it is not an object
 * (a reference like input.a.b into a string or array reads nothing below, but the value itself
 * decides that, so it is kept).
 */
function project(value: unknown, trie: PathTrie): string {
  if (!isPlainObject(value)) return JSON.stringify(value) ?? "null";
  let out = "{";
  for (const [key, sub] of trie) {
    const v = value[key];
    if (v === undefined) continue;
    if (out.length > 1) out += ",";
    out += JSON.stringify(key);
    out += ":";
    out += sub === true ? (JSON.stringify(v) ?? "null") : project(v, sub);
  }
  return `${out}}`;
}

export type CacheKeyFn = (input: DecisionInput) => string;

/**
 * Key function for one loaded policy. Equal keys mean equal values on every path the policy can
 * read (objects the caller built in another key order only miss, never collide). Long keys are
 * hashed, so the thousands of cached entries do not keep kilobytes of JSON each alive.
 */
export function cacheKeyFor(version: string, paths: readonly (readonly string[])[] | undefined): CacheKeyFn {
  const prefix = `${version}\0`;
  if (paths === undefined) return (input) => keyOf(prefix, JSON.stringify(input));
  const trie = buildTrie(paths);
  return (input) => keyOf(prefix, project(input, trie));
}

/**
 * Projections up to 2 KB are their own key: a Map lookup of the string costs far less than a
 * SHA-256 (1,000 entries hold at most ~2 MB of keys); longer ones are hashed to 44 characters.
 */
const MAX_PLAIN_KEY = 2048;

function keyOf(prefix: string, text: string): string {
  // The "=" of a base64 sha256 digest never starts a projection ("{", a JSON value): no collisions.
  if (text.length <= MAX_PLAIN_KEY) return prefix + text;
  return `${prefix}=${createHash("sha256").update(text).digest("base64")}`;
}
