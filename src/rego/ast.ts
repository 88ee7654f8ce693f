// Rego abstract syntax tree (output of the parser, input of the compiler).

import type { Value } from "./value.js";

export interface Loc {
  file: string;
  line: number;
  col: number;
}

export type Term =
  | { t: "scalar"; v: Value; loc: Loc }
  | { t: "var"; name: string; loc: Loc }
  /** head is a var (data, input, local, rule name) or any other term; path elements are terms */
  | { t: "ref"; head: Term; path: Term[]; loc: Loc }
  | { t: "array"; items: Term[]; loc: Loc }
  | { t: "object"; pairs: [Term, Term][]; loc: Loc }
  | { t: "set"; items: Term[]; loc: Loc }
  /** function / builtin / operator call; `op` is the dotted name or a ref term */
  | { t: "call"; op: Term; args: Term[]; loc: Loc }
  | { t: "arraycomp"; term: Term; body: Expr[]; loc: Loc }
  | { t: "setcomp"; term: Term; body: Expr[]; loc: Loc }
  | { t: "objcomp"; key: Term; value: Term; body: Expr[]; loc: Loc }
  /** `$"…{expr}…"`: literal text and expressions (term expressions, possibly with `with`) */
  | { t: "template"; parts: (string | Expr)[]; loc: Loc };

export interface With {
  target: Term;
  value: Term;
  loc: Loc;
}

export type ExprKind =
  | { k: "term"; term: Term }
  | { k: "unify"; a: Term; b: Term }
  | { k: "assign"; a: Term; b: Term }
  | { k: "some"; vars: Term[] }
  | { k: "somein"; key: Term | null; value: Term; coll: Term }
  | { k: "every"; key: Term | null; value: Term; domain: Term; body: Expr[] }
  /** `not { … }` */
  | { k: "body"; body: Expr[] };

export type Expr = ExprKind & { negated: boolean; with: With[]; loc: Loc };

export interface RuleHead {
  /** full ref of the rule name: first elem is a var (the name), rest are path terms */
  ref: Term[];
  args: Term[] | null;
  /** `contains x` / v0 `p[x] { }` set rule */
  key: Term | null;
  /** `:=`/`=` value (null = default `true` for complete rules) */
  value: Term | null;
  assign: boolean;
  loc: Loc;
}

export interface Rule {
  head: RuleHead;
  body: Expr[];
  /** the body is the implicit `true` (no `if`/braces) */
  bodyless: boolean;
  isDefault: boolean;
  else: Rule | null;
  loc: Loc;
  module: Module;
}

export interface Import {
  path: Term;
  alias: string | null;
  loc: Loc;
}

export interface Module {
  file: string;
  /** package path without the leading `data`, e.g. ["warden", "policy"] */
  pkg: string[];
  imports: Import[];
  rules: Rule[];
  v0: boolean;
  /** module source text (for test runners and error messages) */
  source: string;
}
