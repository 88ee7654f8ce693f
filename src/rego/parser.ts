// Rego parser: tokens → AST (./ast.ts). Accepts Rego v1 syntax, and v0 syntax for modules
// parsed in v0-compatible mode (`p[x] { … }` partial sets, bodies without `if`).

import type { Expr, Import, Loc, Module, Rule, RuleHead, Term, With } from "./ast.js";
import { RegoSyntaxError, type Token, tokenize } from "./lexer.js";
import { parseNumber } from "./value.js";

export interface ParseOptions {
  /** Parse as Rego v0 (OPA < 1.0 syntax) unless the module imports rego.v1. */
  v0?: boolean;
}

const KEYWORDS = new Set([
  "package",
  "import",
  "default",
  "else",
  "not",
  "with",
  "as",
  "some",
  "every",
  "in",
  "if",
  "contains",
]);

class Parser {
  private toks: Token[];
  private i = 0;
  v0 = false;

  constructor(
    readonly src: string,
    readonly file: string,
    toks?: Token[],
  ) {
    this.toks = toks ?? tokenize(src, file);
  }

  // ---------- token helpers ----------
  get tok(): Token {
    return this.toks[this.i];
  }
  peek(n = 1): Token {
    return this.toks[Math.min(this.i + n, this.toks.length - 1)];
  }
  loc(t: Token = this.tok): Loc {
    return { file: this.file, line: t.line, col: t.col };
  }
  is(text: string, t: Token = this.tok): boolean {
    return (t.kind === "punct" || t.kind === "ident") && t.text === text;
  }
  /** punct/ident directly adjacent to the previous token (no whitespace) */
  adjacent(): boolean {
    return this.i > 0 && this.toks[this.i - 1].end === this.tok.offset;
  }
  next(): Token {
    const t = this.tok;
    if (this.i < this.toks.length - 1) this.i++;
    return t;
  }
  fail(msg: string, t: Token = this.tok): never {
    throw new RegoSyntaxError(this.file, t.line, t.col, msg);
  }
  describe(t: Token): string {
    if (t.kind === "eof") return "end of input";
    if (t.kind === "string") return `string ${JSON.stringify(t.text)}`;
    if (t.kind === "template") return "template string";
    return `${JSON.stringify(t.text)}`;
  }
  expect(text: string, what?: string): Token {
    if (!this.is(text))
      this.fail(`expected ${what ?? JSON.stringify(text)} but found ${this.describe(this.tok)}`);
    return this.next();
  }
  /** a keyword directly followed by `.`/`[`/`(` is a name (`contains.foo := 1`) */
  keywordAsName(): boolean {
    const n = this.peek();
    return (
      n.kind === "punct" && (n.text === "." || n.text === "[" || n.text === "(") && n.offset === this.tok.end
    );
  }
  ident(what: string): Token {
    if (this.tok.kind !== "ident" || KEYWORDS.has(this.tok.text))
      this.fail(`expected ${what} but found ${this.describe(this.tok)}`);
    return this.next();
  }

  // ---------- module ----------
  parseModule(opts: ParseOptions): Module {
    this.v0 = !!opts.v0;
    if (!this.is("package")) this.fail("expected `package` declaration at the start of the module");
    this.next();
    const pkgTerm = this.parseRefOnly();
    const pkg = refToPath(pkgTerm, this, "package");
    const mod: Module = { file: this.file, pkg, imports: [], rules: [], v0: this.v0, source: this.src };
    while (this.is("import") && !this.keywordAsName()) {
      const t = this.next();
      const path = this.parseRefOnly();
      let alias: string | null = null;
      if (this.is("as")) {
        this.next();
        alias = this.ident("import alias").text;
      }
      const imp: Import = { path, alias, loc: this.loc(t) };
      const p = refToPath(path, this, "import");
      if (p[0] === "rego" && p[1] === "v1") this.v0 = false;
      else if (p[0] !== "data" && p[0] !== "input" && p[0] !== "future" && p[0] !== "rego")
        this.fail(`invalid import path ${p.join(".")}: must begin with input or data`, t);
      mod.imports.push(imp);
    }
    mod.v0 = this.v0;
    while (this.tok.kind !== "eof") {
      if (this.is("import") && !this.keywordAsName()) this.fail("imports must appear before rules");
      if (this.is("package") && !this.keywordAsName())
        this.fail("unexpected `package`: one package per module");
      for (const r of this.parseRule(mod)) mod.rules.push(r);
    }
    return mod;
  }

  parseRule(mod: Module): Rule[] {
    const start = this.tok;
    let isDefault = false;
    if (this.is("default") && !this.keywordAsName()) {
      this.next();
      isDefault = true;
    }
    if (this.tok.kind !== "ident" || (KEYWORDS.has(this.tok.text) && !this.keywordAsName()))
      this.fail(`expected rule name but found ${this.describe(this.tok)}`);
    const ref = this.parseHeadRef();
    let args: Term[] | null = null;
    if (this.is("(") && this.adjacent()) {
      this.next();
      args = [];
      if (!this.is(")")) {
        for (;;) {
          args.push(this.parseTermExpr());
          if (this.is(",")) {
            this.next();
            continue;
          }
          break;
        }
      }
      this.expect(")");
    }
    const head: RuleHead = { ref, args, key: null, value: null, assign: false, loc: this.loc(start) };
    if (isDefault) {
      if (this.is(":=") || this.is("=")) {
        head.assign = this.next().text === ":=";
        head.value = this.parseTermExpr();
      } else this.fail("default rules must have a value assigned with := or =");
      return [
        { head, body: [], bodyless: true, isDefault: true, else: null, loc: this.loc(start), module: mod },
      ];
    }
    if (this.is("contains")) {
      this.next();
      head.key = this.parseTermExpr();
    } else if (this.is(":=") || this.is("=")) {
      head.assign = this.next().text === ":=";
      head.value = this.parseTermExpr();
    } else if (this.v0 && ref.length === 2 && args === null && ref[1].t !== "scalar") {
      // v0: `p[x] { … }` is a partial set rule
      head.key = ref.pop() as Term;
    } else if (this.v0 && ref.length === 2 && args === null && ref[1].t === "scalar" && this.is("{")) {
      head.key = ref.pop() as Term;
    }
    const { body, bodyless } = this.parseRuleBody(false);
    const rule: Rule = {
      head,
      body,
      bodyless,
      isDefault: false,
      else: null,
      loc: this.loc(start),
      module: mod,
    };
    // else chain
    let cur = rule;
    while (this.is("else") && !this.keywordAsName()) {
      const et = this.next();
      const ehead: RuleHead = { ...head, value: null, loc: this.loc(et) };
      if (this.is(":=") || this.is("=")) {
        ehead.assign = this.next().text === ":=";
        ehead.value = this.parseTermExpr();
      }
      const eb = this.parseRuleBody(true);
      const er: Rule = {
        head: ehead,
        body: eb.body,
        bodyless: eb.bodyless,
        isDefault: false,
        else: null,
        loc: this.loc(et),
        module: mod,
      };
      cur.else = er;
      cur = er;
    }
    const out = [rule];
    // v0: additional bodies `p { a } { b }` define more rules with the same head
    while (this.is("{") && !this.tok.nl) {
      const eb = this.parseRuleBody(false);
      out.push({ ...rule, body: eb.body, bodyless: false, else: null });
    }
    return out;
  }

  parseHeadRef(): Term[] {
    const name = this.next();
    const ref: Term[] = [{ t: "var", name: name.text, loc: this.loc(name) }];
    for (;;) {
      if (this.is(".") && this.adjacent()) {
        this.next();
        const id = this.tok;
        if (id.kind !== "ident") this.fail(`expected name after "." but found ${this.describe(id)}`);
        this.next();
        ref.push({ t: "scalar", v: id.text, loc: this.loc(id) });
      } else if (this.is("[") && this.adjacent()) {
        this.next();
        ref.push(this.parseTermExpr());
        this.expect("]");
      } else break;
    }
    return ref;
  }

  parseRuleBody(isElse: boolean): { body: Expr[]; bodyless: boolean } {
    if (this.is("if") && !this.keywordAsName()) {
      this.next();
      if (this.is("{")) return { body: this.parseBraceBody(), bodyless: false };
      return { body: [this.parseLiteral()], bodyless: false };
    }
    if (this.is("{") && (!this.tok.nl || isElse)) {
      if (!this.v0)
        this.fail(
          "`if` keyword is required before rule body (Rego v1; load the module in v0-compatible mode for v0 syntax)",
        );
      return { body: this.parseBraceBody(), bodyless: false };
    }
    return { body: [], bodyless: true };
  }

  parseBraceBody(): Expr[] {
    const open = this.expect("{");
    const body = this.parseBody("}");
    if (body.length === 0) this.fail("found empty body", open);
    this.expect("}");
    return body;
  }

  /** Literals separated by `;` or newlines, until `end` (not consumed). */
  parseBody(end: string | null): Expr[] {
    const body: Expr[] = [];
    for (;;) {
      while (this.is(";")) this.next();
      if (end === null ? this.tok.kind === "eof" : this.is(end)) break;
      if (this.tok.kind === "eof") this.fail(`expected ${JSON.stringify(end)} but found end of input`);
      const before = this.tok;
      body.push(this.parseLiteral());
      if (end === null ? (this.tok.kind as string) === "eof" : this.is(end)) break;
      if (this.is(";") || this.tok.nl) continue;
      if (this.tok === before) this.fail(`unexpected ${this.describe(this.tok)}`);
      this.fail(`unexpected ${this.describe(this.tok)}: expected end of expression (newline or ";")`);
    }
    return body;
  }

  parseLiteral(): Expr {
    const start = this.tok;
    const loc = this.loc(start);
    if (this.is("some") && !this.keywordAsName()) {
      this.next();
      const vars: Term[] = [this.parseTermRel()];
      while (this.is(",")) {
        this.next();
        vars.push(this.parseTermRel());
      }
      if (this.is("in")) {
        this.next();
        const coll = this.parseTermRel();
        if (vars.length > 2) this.fail("too many terms on the left of `in` (at most key, value)", start);
        return this.withMods({
          k: "somein",
          key: vars.length === 2 ? vars[0] : null,
          value: vars.length === 2 ? vars[1] : vars[0],
          coll,
          negated: false,
          with: [],
          loc,
        });
      }
      for (const v of vars) if (v.t !== "var") this.fail("expected variable names after `some`", start);
      return { k: "some", vars, negated: false, with: [], loc };
    }
    if (this.is("every") && !this.keywordAsName()) {
      this.next();
      let key: Term | null = null;
      let value = this.parseTermRel();
      if (this.is(",")) {
        this.next();
        key = value;
        value = this.parseTermRel();
      }
      this.expect("in", "`in` after every's variables");
      const domain = this.parseTermRel();
      const body = this.parseBraceBody();
      return this.withMods({ k: "every", key, value, domain, body, negated: false, with: [], loc });
    }
    if (this.is("not") && !this.keywordAsName()) {
      this.next();
      if (this.is("{") && this.peek().nl) {
        // `not { … }`: negation of a whole body (future.keywords.not)
        const body = this.parseBraceBody();
        return this.withMods({ k: "body", body, negated: true, with: [], loc });
      }
      const inner = this.parseLiteralNoWith();
      if (inner.k === "some" || inner.k === "somein" || inner.k === "every")
        this.fail("`not` cannot be applied to `some` or `every`", start);
      inner.negated = true;
      inner.loc = loc;
      return this.withMods(inner);
    }
    return this.withMods(this.parseLiteralNoWith());
  }

  parseLiteralNoWith(): Expr {
    const loc = this.loc();
    if ((this.is("some") || this.is("every")) && !this.keywordAsName()) return this.parseLiteral();
    const a = this.parseTermExpr(true);
    if (this.is(":=") || this.is("=")) {
      const op = this.next().text;
      const b = this.parseTermExpr();
      return { k: op === ":=" ? "assign" : "unify", a, b, negated: false, with: [], loc };
    }
    return { k: "term", term: a, negated: false, with: [], loc };
  }

  withMods(e: Expr): Expr {
    while (this.is("with") && !this.keywordAsName()) {
      const t = this.next();
      const target = this.parseTermRel();
      this.expect("as", "`as` in with modifier");
      const value = this.parseTermExpr();
      const w: With = { target, value, loc: this.loc(t) };
      e.with.push(w);
    }
    return e;
  }

  // ---------- terms ----------

  /** A term with infix operators, including `in` (and `k, v in coll` when allowPair). */
  parseTermExpr(allowPair = false): Term {
    const lhs = this.parseTermRel();
    if (allowPair && this.is(",")) {
      // `k, v in coll` as an expression
      const save = this.i;
      this.next();
      const mid = this.parseTermRel();
      if (this.is("in")) {
        const t = this.next();
        const coll = this.parseTermRel();
        return this.parseIn(this.mkCall("internal.member_3", [lhs, mid, coll], t));
      }
      this.i = save;
    }
    return this.parseIn(lhs);
  }

  parseIn(lhs: Term): Term {
    let l = lhs;
    while (this.is("in") && !this.tok.nl) {
      const t = this.next();
      const rhs = this.parseTermRel();
      l = this.mkCall("internal.member_2", [l, rhs], t);
    }
    return l;
  }

  mkCall(name: string, args: Term[], t: Token): Term {
    const loc = this.loc(t);
    return { t: "call", op: { t: "var", name, loc }, args, loc: args[0]?.loc ?? loc };
  }

  parseTermRel(noBar = false): Term {
    let lhs = this.parseTermOr(noBar);
    for (;;) {
      const t = this.tok;
      if (t.kind !== "punct" || t.nl) break;
      const op = REL_OPS[t.text];
      if (!op) break;
      this.next();
      const rhs = this.parseTermOr(noBar);
      lhs = this.mkCall(op, [lhs, rhs], t);
    }
    return lhs;
  }

  parseTermOr(noBar: boolean): Term {
    let lhs = this.parseTermAnd();
    while (!noBar && this.is("|") && !this.tok.nl) {
      const t = this.next();
      lhs = this.mkCall("or", [lhs, this.parseTermAnd()], t);
    }
    return lhs;
  }
  parseTermAnd(): Term {
    let lhs = this.parseTermArith();
    while (this.is("&") && !this.tok.nl) {
      const t = this.next();
      lhs = this.mkCall("and", [lhs, this.parseTermArith()], t);
    }
    return lhs;
  }
  parseTermArith(): Term {
    let lhs = this.parseTermFactor();
    while ((this.is("+") || this.is("-")) && !this.tok.nl) {
      const t = this.next();
      lhs = this.mkCall(t.text === "+" ? "plus" : "minus", [lhs, this.parseTermFactor()], t);
    }
    return lhs;
  }
  parseTermFactor(): Term {
    let lhs = this.parseTerm();
    while ((this.is("*") || this.is("/") || this.is("%")) && !this.tok.nl) {
      const t = this.next();
      lhs = this.mkCall(t.text === "*" ? "mul" : t.text === "/" ? "div" : "rem", [lhs, this.parseTerm()], t);
    }
    return lhs;
  }

  /** A ref made of names only (package / import paths). */
  parseRefOnly(): Term {
    const t = this.tok;
    if (t.kind !== "ident") this.fail(`expected a name but found ${this.describe(t)}`);
    this.next();
    let term: Term = { t: "var", name: t.text, loc: this.loc(t) };
    const path: Term[] = [];
    for (;;) {
      if (this.is(".") && this.adjacent()) {
        this.next();
        const id = this.tok;
        if (id.kind !== "ident") this.fail(`expected name after "." but found ${this.describe(id)}`);
        this.next();
        path.push({ t: "scalar", v: id.text, loc: this.loc(id) });
      } else if (this.is("[") && this.adjacent()) {
        this.next();
        const s = this.tok;
        if (s.kind !== "string") this.fail("expected string in package/import path");
        this.next();
        path.push({ t: "scalar", v: s.text, loc: this.loc(s) });
        this.expect("]");
      } else break;
    }
    if (path.length) term = { t: "ref", head: term, path, loc: term.loc };
    return term;
  }

  parseTerm(): Term {
    const t = this.tok;
    const loc = this.loc(t);
    let term: Term;
    switch (t.kind) {
      case "number":
        this.next();
        term = { t: "scalar", v: parseNumber(t.text), loc };
        break;
      case "string":
        this.next();
        term = { t: "scalar", v: t.text, loc };
        break;
      case "template":
        this.next();
        term = this.parseTemplate(t);
        break;
      case "ident":
        this.next();
        if (
          (t.text === "true" || t.text === "false" || t.text === "null") &&
          (this.is(".") || this.is("[")) &&
          this.adjacent()
        )
          term = { t: "var", name: t.text, loc };
        else if (t.text === "true" || t.text === "false") term = { t: "scalar", v: t.text === "true", loc };
        else if (t.text === "null") term = { t: "scalar", v: null, loc };
        else if (t.text === "set" && this.is("(") && this.adjacent() && this.is(")", this.peek())) {
          this.next();
          this.next();
          term = { t: "set", items: [], loc };
        } else {
          if (KEYWORDS.has(t.text) && !((this.is(".") || this.is("[") || this.is("(")) && this.adjacent()))
            this.fail(`unexpected keyword ${JSON.stringify(t.text)}`, t);
          term = { t: "var", name: t.text, loc };
        }
        break;
      case "punct":
        if (t.text === "-") {
          this.next();
          const n = this.tok;
          if (n.kind === "number" && this.adjacent()) {
            this.next();
            const v = parseNumber(n.text);
            term = { t: "scalar", v: typeof v === "bigint" ? -v : v === 0 ? 0 : -v, loc };
            break;
          }
          const operand = this.parseTerm();
          return {
            t: "call",
            op: { t: "var", name: "minus", loc },
            args: [{ t: "scalar", v: 0, loc }, operand],
            loc,
          };
        }
        if (t.text === "(") {
          this.next();
          term = this.parseTermExpr(true);
          this.expect(")");
          break;
        }
        if (t.text === "[") {
          term = this.parseArray();
          break;
        }
        if (t.text === "{") {
          term = this.parseBrace();
          break;
        }
        return this.fail(`unexpected ${this.describe(t)}`);
      default:
        return this.fail(`unexpected ${this.describe(t)}`);
    }
    return this.parsePostfix(term);
  }

  parsePostfix(head: Term): Term {
    let term = head;
    for (;;) {
      if (this.is(".") && this.adjacent()) {
        this.next();
        const id = this.tok;
        if (id.kind !== "ident") this.fail(`expected name after "." but found ${this.describe(id)}`);
        this.next();
        term = appendRef(term, { t: "scalar", v: id.text, loc: this.loc(id) });
      } else if (this.is("[") && this.adjacent()) {
        this.next();
        const idx = this.parseTermExpr();
        this.expect("]");
        term = appendRef(term, idx);
      } else if (this.is("(") && this.adjacent() && (term.t === "var" || term.t === "ref")) {
        const open = this.next();
        const args: Term[] = [];
        if (!this.is(")")) {
          for (;;) {
            args.push(this.parseTermExpr());
            if (this.is(",")) {
              this.next();
              if (this.is(")")) break;
              continue;
            }
            break;
          }
        }
        this.expect(")", '")" or "," in call arguments');
        void 0;
        term = { t: "call", op: term, args, loc: term.loc };
        void open;
      } else break;
    }
    return term;
  }

  parseArray(): Term {
    const open = this.next();
    const loc = this.loc(open);
    if (this.is("]")) {
      this.next();
      return { t: "array", items: [], loc };
    }
    const save = this.i;
    const first = this.tryHead();
    if (first && this.is("|")) {
      this.next();
      const body = this.parseBody("]");
      this.expect("]");
      return { t: "arraycomp", term: first, body, loc };
    }
    this.i = save;
    const items = this.parseTermList("]");
    return { t: "array", items, loc };
  }

  /** Parse a comprehension head (no top-level `|`), or null if that fails. */
  tryHead(): Term | null {
    try {
      const lhs = this.parseTermRel(true);
      return this.parseIn(lhs);
    } catch (e) {
      if (e instanceof RegoSyntaxError) return null;
      throw e;
    }
  }

  parseTermList(end: string): Term[] {
    const items: Term[] = [];
    for (;;) {
      if (this.is(end)) break;
      items.push(this.parseTermExpr());
      if (this.is(",")) {
        this.next();
        continue;
      }
      if (!this.is(end))
        this.fail(`expected "," or ${JSON.stringify(end)} but found ${this.describe(this.tok)}`);
    }
    this.expect(end);
    return items;
  }

  parseBrace(): Term {
    const open = this.next();
    const loc = this.loc(open);
    if (this.is("}")) {
      this.next();
      return { t: "object", pairs: [], loc };
    }
    const save = this.i;
    const first = this.tryHead();
    if (first && this.is("|")) {
      this.next();
      const body = this.parseBody("}");
      this.expect("}");
      return { t: "setcomp", term: first, body, loc };
    }
    if (first && this.is(":")) {
      this.next();
      const vsave = this.i;
      const val = this.tryHead();
      if (val && this.is("|")) {
        this.next();
        const body = this.parseBody("}");
        this.expect("}");
        return { t: "objcomp", key: first, value: val, body, loc };
      }
      this.i = vsave;
      const v = this.parseTermExpr();
      const pairs: [Term, Term][] = [[first, v]];
      // re-parse key with full precedence not needed: key parsed without `|` only
      while (this.is(",")) {
        this.next();
        if (this.is("}")) break;
        const k = this.parseTermExpr();
        this.expect(":", '":" in object');
        pairs.push([k, this.parseTermExpr()]);
      }
      this.expect("}", '"," or "}" in object');
      return { t: "object", pairs, loc };
    }
    this.i = save;
    const items = this.parseTermList("}");
    return { t: "set", items, loc };
  }

  parseTemplate(t: Token): Term {
    const parts: (string | Expr)[] = [];
    for (const p of t.parts ?? []) {
      if (!p.expr) {
        parts.push(p.text);
        continue;
      }
      const toks = tokenize(p.text, this.file, p.line, p.col, p.offset);
      const sub = new Parser(p.text, this.file, toks);
      sub.v0 = this.v0;
      if (sub.tok.kind === "eof") this.fail("empty template expression", t);
      const term = sub.parseTermExpr();
      const e = sub.withMods({ k: "term", term, negated: false, with: [], loc: term.loc });
      if ((sub.tok.kind as string) !== "eof")
        sub.fail(`unexpected ${sub.describe(sub.tok)} in template expression`);
      parts.push(e);
    }
    return { t: "template", parts, loc: this.loc(t) };
  }
}

const REL_OPS: Record<string, string> = {
  "==": "equal",
  "!=": "neq",
  "<": "lt",
  "<=": "lte",
  ">": "gt",
  ">=": "gte",
};

function appendRef(term: Term, elem: Term): Term {
  if (term.t === "ref") return { t: "ref", head: term.head, path: [...term.path, elem], loc: term.loc };
  return { t: "ref", head: term, path: [elem], loc: term.loc };
}

function refToPath(term: Term, p: Parser, what: string): string[] {
  if (term.t === "var") return [term.name];
  if (term.t === "ref" && term.head.t === "var") {
    const out = [term.head.name];
    for (const e of term.path) {
      if (e.t !== "scalar" || typeof e.v !== "string") p.fail(`invalid ${what} path`);
      out.push(e.v as string);
    }
    return out;
  }
  return p.fail(`invalid ${what} path`);
}

export function parseModule(src: string, file: string, opts: ParseOptions = {}): Module {
  return new Parser(src, file).parseModule(opts);
}

/** Parse a query: one or more expressions separated by `;` or newlines. */
export function parseQuery(src: string, file = "query"): Expr[] {
  const p = new Parser(src, file);
  const body = p.parseBody(null);
  if (body.length === 0) p.fail("empty query");
  return body;
}

/** Parse a single Rego term (used for `input_term` and `--input` terms). */
export function parseTerm(src: string, file = "term"): Term {
  const p = new Parser(src, file);
  const t = p.parseTermExpr();
  if (p.tok.kind !== "eof") p.fail(`unexpected ${p.describe(p.tok)} after term`);
  return t;
}

export { RegoSyntaxError };
