// Arrays, sets, objects, json.filter/remove/patch, walk and graph builtins.

import { equal, keyOf, RObject, RSet, typeName, type Value } from "../value.js";
import { arr, elems, intArg, obj, set, typeErr } from "./args.js";
import { type BuiltinContext, operandTypeError, registerBuiltin } from "./types.js";

const reg = (name: string, arity: number, impl: (a: Value[], b: BuiltinContext) => Value | undefined) =>
  registerBuiltin(name, impl, { arity });

// ---- arrays ---------------------------------------------------------------------------

reg("array.concat", 2, ([a, b]) => [...arr("array.concat", 1, a), ...arr("array.concat", 2, b)]);
reg("array.reverse", 1, ([a]) => [...arr("array.reverse", 1, a)].reverse());
reg("array.slice", 3, ([a, b, c]) => {
  const xs = arr("array.slice", 1, a);
  let start = Number(intArg("array.slice", 2, b));
  let stop = Number(intArg("array.slice", 3, c));
  if (start < 0) start = 0;
  if (stop > xs.length) stop = xs.length;
  if (start >= stop) return [];
  return xs.slice(start, stop);
});
// One level only, as OPA does: [[1], [2, [3]]] → [1, 2, [3]].
reg("array.flatten", 1, ([a]) => arr("array.flatten", 1, a).flatMap((x) => (Array.isArray(x) ? x : [x])));

// ---- sets -----------------------------------------------------------------------------

function setOfSets(name: string, a: Value): RSet[] {
  const s = set(name, 1, a);
  const out: RSet[] = [];
  for (const e of s.values()) {
    if (!(e instanceof RSet))
      throw typeErr(name, `operand 1 must be set of sets but got set containing ${typeName(e)}`);
    out.push(e);
  }
  return out;
}
reg("intersection", 1, ([a]) => {
  const sets = setOfSets("intersection", a);
  if (sets.length === 0) return new RSet();
  const out = new RSet();
  for (const [k, v] of sets[0].m) if (sets.every((s) => s.m.has(k))) out.m.set(k, v);
  return out;
});
// Deprecated: set_diff(a, b) is a - b.
reg("set_diff", 2, ([a, b]) => {
  const x = set("set_diff", 1, a);
  const y = set("set_diff", 2, b);
  const out = new RSet();
  for (const [k, v] of x.m) if (!y.m.has(k)) out.m.set(k, v);
  return out;
});
reg("union", 1, ([a]) => {
  const out = new RSet();
  for (const s of setOfSets("union", a)) for (const [k, v] of s.m) out.m.set(k, v);
  return out;
});

// ---- objects --------------------------------------------------------------------------

/** Value at a path inside a composite value (objects by key, arrays by index, sets by member). */
function lookupPath(v: Value, path: Value[]): Value | undefined {
  let cur: Value | undefined = v;
  for (const seg of path) {
    if (cur instanceof RObject) cur = cur.get(seg);
    else if (Array.isArray(cur)) {
      if (typeof seg !== "number" || !Number.isInteger(seg) || seg < 0 || seg >= cur.length) return undefined;
      cur = cur[seg];
    } else if (cur instanceof RSet) cur = cur.has(seg) ? seg : undefined;
    else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

reg("object.get", 3, ([o, k, d]) => {
  const x = obj("object.get", 1, o);
  if (Array.isArray(k)) return lookupPath(x, k) ?? d;
  return x.get(k) ?? d;
});

reg("object.keys", 1, ([o]) => {
  const x = obj("object.keys", 1, o);
  const out = new RSet();
  for (const k of x.keys()) out.add(k);
  return out;
});

/** Keys operand of object.remove / object.filter: an object's keys, or a set's / array's elements. */
function keyList(name: string, v: Value): Value[] {
  if (v instanceof RObject) return v.keys();
  if (v instanceof RSet) return [...v.values()];
  if (Array.isArray(v)) return v;
  throw typeErr(name, `operand 2 must be one of {object, set, array} but got ${typeName(v)}`);
}

reg("object.remove", 2, ([o, ks]) => {
  const x = obj("object.remove", 1, o);
  const drop = new Set(keyList("object.remove", ks).map(keyOf));
  const out = new RObject();
  for (const [k, v] of x.entries()) if (!drop.has(keyOf(k))) out.set(k, v);
  return out;
});

reg("object.filter", 2, ([o, ks]) => {
  const x = obj("object.filter", 1, o);
  const out = new RObject();
  for (const k of keyList("object.filter", ks)) {
    const v = x.get(k);
    if (v !== undefined) out.set(k, v);
  }
  return out;
});

function unionObjects(a: RObject, b: RObject): RObject {
  const out = new RObject();
  for (const [k, v] of a.entries()) {
    const w = b.get(k);
    if (w === undefined) out.set(k, v);
    else if (v instanceof RObject && w instanceof RObject) out.set(k, unionObjects(v, w));
    else out.set(k, w);
  }
  for (const [k, w] of b.entries()) if (!a.has(k)) out.set(k, w);
  return out;
}

reg("object.union", 2, ([a, b]) => unionObjects(obj("object.union", 1, a), obj("object.union", 2, b)));
reg("object.union_n", 1, ([a]) => {
  const xs = arr("object.union_n", 1, a);
  let acc = new RObject();
  for (const x of xs) {
    if (!(x instanceof RObject)) {
      throw typeErr(
        "object.union_n",
        `operand 1 must be array of objects but got array containing ${typeName(x)}`,
      );
    }
    acc = unionObjects(acc, x);
  }
  return acc;
});

function arraySubset(sup: Value[], sub: Value[]): boolean {
  if (sub.length === 0) return true;
  for (let i = 0; i + sub.length <= sup.length; i++) {
    let ok = true;
    for (let j = 0; j < sub.length && ok; j++) ok = equal(sup[i + j], sub[j]);
    if (ok) return true;
  }
  return false;
}

/** Nested subset for object values: objects recurse, sets and arrays compare as below. */
function valueSubset(sup: Value, sub: Value): boolean {
  if (equal(sup, sub)) return true;
  if (sup instanceof RObject && sub instanceof RObject) return objectSubset(sup, sub);
  if (sup instanceof RSet && sub instanceof RSet) return setSubset(sup, sub);
  if (Array.isArray(sup) && Array.isArray(sub)) return arraySubset(sup, sub);
  return false;
}

function objectSubset(sup: RObject, sub: RObject): boolean {
  for (const [k, v] of sub.entries()) {
    const w = sup.get(k);
    if (w === undefined || !valueSubset(w, v)) return false;
  }
  return true;
}

function setSubset(sup: RSet, sub: RSet): boolean {
  for (const mk of sub.m.keys()) if (!sup.m.has(mk)) return false;
  return true;
}

/** Every element of the set occurs in the array (OPA counts matches while scanning the array). */
function arraySetSubset(sup: Value[], sub: RSet): boolean {
  let unmatched = sub.size;
  for (const e of sup) {
    if (sub.has(e)) unmatched--;
    if (unmatched === 0) return true;
  }
  return false;
}

reg("object.subset", 2, ([a, b]) => {
  if (a instanceof RObject && b instanceof RObject) return objectSubset(a, b);
  if (a instanceof RSet && b instanceof RSet) return setSubset(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return arraySubset(a, b);
  if (Array.isArray(a) && b instanceof RSet) return arraySetSubset(a, b);
  throw typeErr("object.subset", "both arguments object.subset must be of the same type or array and set");
});

// ---- json.filter / json.remove ---------------------------------------------------------

type PathTree = Map<string, { seg: Value; sub: PathTree | null }>;

function parsePathString(p: string): Value[] {
  if (p === "") return [];
  return p
    .replace(/^\/+/, "")
    .split("/")
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function pathsOperand(name: string, v: Value): Value[][] {
  if (!Array.isArray(v) && !(v instanceof RSet)) {
    throw typeErr(name, `operand 2 must be one of {set, array} but got ${typeName(v)}`);
  }
  const out: Value[][] = [];
  for (const p of elems(v)) {
    if (typeof p === "string") out.push(parsePathString(p));
    else if (Array.isArray(p)) out.push(p);
    else {
      throw typeErr(
        name,
        `operand 2 must be one of {set, array} containing string paths or array of path segments but got ${typeName(p)}`,
      );
    }
  }
  return out;
}

/** Segment key: strings and the numbers they spell meet, so "0" addresses array index 0. */
function segKey(seg: Value): string {
  return typeof seg === "string" ? `s${seg}` : `v${String(keyOf(seg))}`;
}

function buildTree(paths: Value[][]): PathTree | null {
  const root: PathTree = new Map();
  for (const p of paths) {
    if (p.length === 0) return null; // the whole document
    let node: PathTree = root;
    for (let i = 0; i < p.length; i++) {
      const k = segKey(p[i]);
      const last = i === p.length - 1;
      const cur = node.get(k);
      if (cur && cur.sub === null) break; // a shorter path already covers this one
      if (last) {
        node.set(k, { seg: p[i], sub: null });
        break;
      }
      if (!cur) {
        const sub: PathTree = new Map();
        node.set(k, { seg: p[i], sub });
        node = sub;
      } else node = cur.sub as PathTree;
    }
  }
  return root;
}

function treeEntry(tree: PathTree, key: Value, index?: number): { sub: PathTree | null } | undefined {
  const hit = tree.get(segKey(key));
  if (hit) return hit;
  if (index !== undefined) return tree.get(`s${index}`) ?? tree.get(segKey(index));
  if (typeof key === "number" || typeof key === "bigint") return tree.get(`s${key}`);
  return undefined;
}

function filterValue(v: Value, tree: PathTree | null): Value {
  if (tree === null) return v;
  if (v instanceof RObject) {
    const out = new RObject();
    for (const [k, x] of v.entries()) {
      const e = treeEntry(tree, k);
      if (e) out.set(k, filterValue(x, e.sub));
    }
    return out;
  }
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((x, i) => {
      const e = treeEntry(tree, i, i);
      if (e) out.push(filterValue(x, e.sub));
    });
    return out;
  }
  if (v instanceof RSet) {
    const out = new RSet();
    for (const x of v.values()) {
      const e = treeEntry(tree, x);
      if (e) out.add(filterValue(x, e.sub));
    }
    return out;
  }
  return v;
}

function removeValue(v: Value, tree: PathTree): Value {
  if (v instanceof RObject) {
    const out = new RObject();
    for (const [k, x] of v.entries()) {
      const e = treeEntry(tree, k);
      if (!e) out.set(k, x);
      else if (e.sub !== null) out.set(k, removeValue(x, e.sub));
    }
    return out;
  }
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((x, i) => {
      const e = treeEntry(tree, i, i);
      if (!e) out.push(x);
      else if (e.sub !== null) out.push(removeValue(x, e.sub));
    });
    return out;
  }
  if (v instanceof RSet) {
    const out = new RSet();
    for (const x of v.values()) {
      const e = treeEntry(tree, x);
      if (!e) out.add(x);
      else if (e.sub !== null) out.add(removeValue(x, e.sub));
    }
    return out;
  }
  return v;
}

reg("json.filter", 2, ([o, p]) => {
  const x = obj("json.filter", 1, o);
  return filterValue(x, buildTree(pathsOperand("json.filter", p)));
});
reg("json.remove", 2, ([o, p]) => {
  const x = obj("json.remove", 1, o);
  const tree = buildTree(pathsOperand("json.remove", p));
  if (tree === null) return new RObject();
  return removeValue(x, tree);
});

// ---- json.patch (RFC 6902, plus OPA's set addressing) ----------------------------------

class PatchFail extends Error {}

function patchPath(v: Value | undefined): Value[] {
  if (typeof v === "string") {
    if (v === "" || v === "/") return v === "" ? [] : [""];
    return v
      .replace(/^\//, "")
      .split("/")
      .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
  }
  if (Array.isArray(v)) return v;
  throw new PatchFail();
}

function arrayIndex(seg: Value, len: number, allowEnd: boolean): number {
  if (allowEnd && seg === "-") return len;
  let n: number;
  if (typeof seg === "number" && Number.isInteger(seg)) n = seg;
  else if (typeof seg === "string" && /^(0|[1-9]\d*)$/.test(seg)) n = Number(seg);
  else throw new PatchFail();
  if (n < 0 || n > len || (!allowEnd && n === len)) throw new PatchFail();
  return n;
}

function getAt(doc: Value, path: Value[]): Value {
  let cur = doc;
  for (const seg of path) {
    if (cur instanceof RObject) {
      const next = cur.get(seg);
      if (next === undefined) throw new PatchFail();
      cur = next;
    } else if (Array.isArray(cur)) cur = cur[arrayIndex(seg, cur.length, false)];
    else if (cur instanceof RSet) {
      if (!cur.has(seg)) throw new PatchFail();
      cur = seg;
    } else throw new PatchFail();
  }
  return cur;
}

/** Rebuilds `doc` with `f` applied to the parent container of the last path segment. */
function updateParent(doc: Value, path: Value[], f: (parent: Value, last: Value) => Value): Value {
  if (path.length === 0) throw new PatchFail();
  const rec = (cur: Value, i: number): Value => {
    if (i === path.length - 1) return f(cur, path[i]);
    const seg = path[i];
    if (cur instanceof RObject) {
      const child = cur.get(seg);
      if (child === undefined) throw new PatchFail();
      const out = new RObject(new Map(cur.m), cur.ck ? new Map(cur.ck) : undefined);
      out.set(seg, rec(child, i + 1));
      return out;
    }
    if (Array.isArray(cur)) {
      const idx = arrayIndex(seg, cur.length, false);
      const out = [...cur];
      out[idx] = rec(cur[idx], i + 1);
      return out;
    }
    if (cur instanceof RSet) {
      if (!cur.has(seg)) throw new PatchFail();
      const out = new RSet(new Map(cur.m));
      out.m.delete(keyOf(seg));
      out.add(rec(seg, i + 1));
      return out;
    }
    throw new PatchFail();
  };
  return rec(doc, 0);
}

function addAt(doc: Value, path: Value[], value: Value): Value {
  if (path.length === 0) return value;
  return updateParent(doc, path, (parent, last) => {
    if (parent instanceof RObject) {
      const out = new RObject(new Map(parent.m), parent.ck ? new Map(parent.ck) : undefined);
      out.set(last, value);
      return out;
    }
    if (Array.isArray(parent)) {
      const idx = arrayIndex(last, parent.length, true);
      const out = [...parent];
      out.splice(idx, 0, value);
      return out;
    }
    if (parent instanceof RSet) {
      if (!equal(last, value)) throw new PatchFail();
      const out = new RSet(new Map(parent.m));
      out.add(value);
      return out;
    }
    throw new PatchFail();
  });
}

function removeAt(doc: Value, path: Value[]): Value {
  return updateParent(doc, path, (parent, last) => {
    if (parent instanceof RObject) {
      if (!parent.has(last)) throw new PatchFail();
      const out = new RObject();
      for (const [k, v] of parent.entries()) if (!equal(k, last)) out.set(k, v);
      return out;
    }
    if (Array.isArray(parent)) {
      const idx = arrayIndex(last, parent.length, false);
      const out = [...parent];
      out.splice(idx, 1);
      return out;
    }
    if (parent instanceof RSet) {
      if (!parent.has(last)) throw new PatchFail();
      const out = new RSet(new Map(parent.m));
      out.m.delete(keyOf(last));
      return out;
    }
    throw new PatchFail();
  });
}

function isPrefix(a: Value[], b: Value[]): boolean {
  return a.length < b.length && a.every((s, i) => equal(s, b[i]));
}

export function jsonPatch(doc: Value, patches: Value[]): Value | undefined {
  try {
    let cur = doc;
    for (const p of patches) {
      if (!(p instanceof RObject)) throw new PatchFail();
      const op = p.getStr("op");
      const path = patchPath(p.getStr("path"));
      switch (op) {
        case "add": {
          const v = p.getStr("value");
          if (v === undefined) throw new PatchFail();
          cur = addAt(cur, path, v);
          break;
        }
        case "remove":
          if (path.length === 0) throw new PatchFail();
          cur = removeAt(cur, path);
          break;
        case "replace": {
          const v = p.getStr("value");
          if (v === undefined) throw new PatchFail();
          if (path.length === 0) {
            cur = v;
            break;
          }
          getAt(cur, path);
          cur = addAt(removeAt(cur, path), path, v);
          break;
        }
        case "move": {
          const from = patchPath(p.getStr("from"));
          if (isPrefix(from, path)) throw new PatchFail();
          const v = getAt(cur, from);
          if (from.length === path.length && from.every((s, i) => equal(s, path[i]))) break;
          cur = addAt(removeAt(cur, from), path, v);
          break;
        }
        case "copy": {
          const from = patchPath(p.getStr("from"));
          cur = addAt(cur, path, getAt(cur, from));
          break;
        }
        case "test": {
          const v = p.getStr("value");
          if (v === undefined || !equal(getAt(cur, path), v)) throw new PatchFail();
          break;
        }
        default:
          throw new PatchFail();
      }
    }
    return cur;
  } catch (e) {
    if (e instanceof PatchFail) return undefined;
    throw e;
  }
}

reg("json.patch", 2, ([d, p]) => {
  if (!Array.isArray(p)) throw operandTypeError("json.patch", 2, "array", p);
  return jsonPatch(d, p);
});

// ---- walk -----------------------------------------------------------------------------

function walkInto(v: Value, path: Value[], out: Value[]): void {
  out.push([path, v]);
  if (v instanceof RObject) {
    for (const k of v.sortedKeys()) walkInto(v.get(k) as Value, [...path, k], out);
  } else if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) walkInto(v[i], [...path, i], out);
  } else if (v instanceof RSet) {
    for (const e of v.sortedElems()) walkInto(e, [...path, e], out);
  }
}

registerBuiltin(
  "walk",
  ([v]) => {
    const out: Value[] = [];
    walkInto(v, [], out);
    return out;
  },
  { arity: 1, relation: true },
);

// ---- graphs ---------------------------------------------------------------------------

function neighbours(edges: Value | undefined): Value[] {
  if (Array.isArray(edges)) return edges;
  if (edges instanceof RSet) return [...edges.values()];
  return [];
}

function graphOperands(name: string, g: Value, init: Value): [RObject, Value[]] {
  const graph = obj(name, 1, g);
  if (!Array.isArray(init) && !(init instanceof RSet)) {
    throw operandTypeError(name, 2, "one of {set, array}", init);
  }
  return [graph, elems(init)];
}

reg("graph.reachable", 2, ([g, i]) => {
  const [graph, initial] = graphOperands("graph.reachable", g, i);
  const reached = new RSet();
  const queue = [...initial];
  while (queue.length > 0) {
    const node = queue.shift() as Value;
    if (reached.has(node)) continue;
    const edges = graph.get(node);
    if (edges === undefined) continue;
    reached.add(node);
    for (const n of neighbours(edges)) if (!reached.has(n)) queue.push(n);
  }
  return reached;
});

reg("graph.reachable_paths", 2, ([g, i]) => {
  const [graph, initial] = graphOperands("graph.reachable_paths", g, i);
  const out = new RSet();
  const dfs = (node: Value, path: Value[]) => {
    const here = [...path, node];
    const next = neighbours(graph.get(node));
    let extended = false;
    for (const n of next) {
      if (here.some((p) => equal(p, n)) || graph.get(n) === undefined) continue;
      extended = true;
      dfs(n, here);
    }
    // a path ends where it cannot go on (no edges, a cycle, or an edge to an unknown node)
    if (!extended || next.some((n) => here.some((p) => equal(p, n)) || graph.get(n) === undefined)) {
      out.add(here);
    }
  };
  for (const n of initial) if (graph.get(n) !== undefined) dfs(n, []);
  return out;
});
