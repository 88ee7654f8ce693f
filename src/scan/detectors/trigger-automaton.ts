// Finds every trigger key of the injection rules, and the sentence breaks, in one pass over a
// text: a deterministic automaton (Aho–Corasick over character classes) reads each character
// with one table step, so the pass costs the same per character however many keys there are and
// however many of them begin like common words ("the real", "you are now", "in character").
//
// Word keys (first character [A-Za-z0-9_]) only start at a word start ("dan" must not fire inside
// "abundant"); other keys ("<|", "![", "@", "忽略") start anywhere. A key marked `wordEnd` must be
// followed by a non-word character or the end of the text ("me" in "me.", not in "message").
// Word characters are ASCII letters, digits and "_", as for `\b` in the rules.

import { codeUnits } from "../runs.js";

export interface TriggerKey {
  key: string;
  wordEnd: boolean;
}

/** One scan's result. The scanner reuses it: it is valid until its next `scan`. */
export interface TriggerScan {
  /** Ids (indexes into the keys) of the keys found, ids[0 .. idCount), in the order first found. */
  ids: Int32Array;
  idCount: number;
  /** count[id]: how many times key id occurs (0 when it was not found). */
  count: Int32Array;
  /**
   * Where key id starts in the text: starts[first[id] .. first[id] + count[id]), ascending
   * (`first` is only meaningful for keys found).
   */
  first: Int32Array;
  starts: Int32Array;
  /** Where the break characters are, ascending: breaks[0 .. breakCount). */
  breaks: Int32Array;
  breakCount: number;
}

const isWordCode = (c: number) =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;

// States 0-2 hold no partial key: after a non-word character (and at the text start), after a
// word character (no key starts in the middle of a word), after a break character.
const AFTER_OTHER = 0;
const IN_WORD = 1;
const AFTER_BREAK = 2;
const FIRST_NODE_STATE = 3;
/** Entry in the output lists for "this character is a break" (keys have ids >= 0). */
const BREAK_OUTPUT = -1;
/** Texts shorter than this many times the warm-up length are read by one cursor. */
const SPLIT_MIN_FACTOR = 8;
/** Buffers up to this many characters are kept for the next text. */
const REUSED_LENGTH = 65536;

export class TriggerAutomaton {
  /** The character class of each UTF-16 code unit. */
  private readonly cls = new Uint8Array(65536);
  private readonly shift: number;
  /** next state = step[(state << shift) | class]. */
  private readonly step: Uint16Array;
  /** States from this one on have outputs. */
  private readonly firstOutput: number;
  /** Offset of the state's outputs in `outputs` (count, then (id, length) pairs); 0 = none. */
  private readonly outputAt: Int32Array;
  private readonly outputs: Int32Array;
  /**
   * After this many characters from any state the automaton is in the state the text alone
   * determines: no partial key is longer. A cursor can start that far before its quarter.
   */
  private readonly warmUp: number;
  private readonly result: TriggerScan;
  private readonly units = { buffer: Buffer.alloc(2 * 8192 + 4) };
  private records = new Int32Array(2 * 8192);
  /** (id, start) of every key occurrence of a scan, in text order, before they are grouped by key. */
  private pairs = new Int32Array(2 * 1024);
  /** Every key occurrence and break of `text`. Clears the previous scan's result. */
  readonly scan: (text: string) => TriggerScan;

  constructor(keys: TriggerKey[], breakChars: string) {
    // Classes: 0 other non-word characters, 1 other word characters, then one per code unit that
    // occurs in a key or is a break character.
    const classWord = [false, true];
    const classBreak = [false, false];
    for (let c = 0; c < 128; c++) if (isWordCode(c)) this.cls[c] = 1;
    const own = (c: number) => {
      if (this.cls[c] > 1) return;
      this.cls[c] = classWord.length;
      classWord.push(c < 128 && isWordCode(c));
      classBreak.push(breakChars.includes(String.fromCharCode(c)));
    };
    for (const { key } of keys) {
      if (key.length === 0) throw new Error("empty trigger key");
      // The scan reads a 0 after the text as its end.
      if (key.includes("\u0000")) throw new Error("a trigger key holds U+0000");
      for (let i = 0; i < key.length; i++) own(key.charCodeAt(i));
    }
    for (let i = 0; i < breakChars.length; i++) own(breakChars.charCodeAt(i));
    const classes = classWord.length;
    this.shift = Math.max(1, Math.ceil(Math.log2(classes)));

    // The trie of the keys over classes, in flat arrays (node 0 is the root). A word-end key also
    // gets a child for every non-word class, where it is reported (one character longer: the
    // boundary is read). Typed arrays and native copies: this runs when the module loads.
    const shift = this.shift;
    let maxNodes = 1;
    for (const { key, wordEnd } of keys) maxNodes += key.length + (wordEnd ? classes : 0);
    /** kid[(node << shift) | class]: the child, 0 = none. */
    const kid = new Int32Array(maxNodes << shift);
    const firstChild = new Int32Array(maxNodes);
    const nextSibling = new Int32Array(maxNodes);
    const lastClass = new Int32Array(maxNodes);
    const depth = new Int32Array(maxNodes);
    /** (id, length) pairs of the keys that end at a node. */
    const ends: Array<number[] | undefined> = [];
    let nodes = 1;
    const childOf = (node: number, c: number) => {
      let k = kid[(node << shift) | c];
      if (k === 0) {
        k = nodes++;
        kid[(node << shift) | c] = k;
        lastClass[k] = c;
        depth[k] = depth[node] + 1;
        nextSibling[k] = firstChild[node];
        firstChild[node] = k;
      }
      return k;
    };
    const end = (node: number, id: number, length: number) => {
      const list = ends[node];
      if (list) list.push(id, length);
      else ends[node] = [id, length];
    };
    keys.forEach(({ key, wordEnd }, id) => {
      let node = 0;
      for (let i = 0; i < key.length; i++) node = childOf(node, this.cls[key.charCodeAt(i)]);
      if (!wordEnd) end(node, id, key.length);
      else for (let c = 0; c < classes; c++) if (!classWord[c]) end(childOf(node, c), id, key.length + 1);
    });
    const states = FIRST_NODE_STATE + nodes - 1; // the root is no state of its own
    if (states >= 65536) throw new Error("trigger automaton too large for its 16-bit table");
    const stateOf = (node: number) => node - 1 + FIRST_NODE_STATE;
    const emptyAfter = (c: number) => (classBreak[c] ? AFTER_BREAK : classWord[c] ? IN_WORD : AFTER_OTHER);
    const step = new Uint16Array(states << shift);
    // States without a partial key: a word character in the middle of a word starts nothing.
    for (const s of [AFTER_OTHER, IN_WORD, AFTER_BREAK])
      for (let c = 0; c < classes; c++) {
        const first = kid[c];
        step[(s << shift) | c] =
          first !== 0 && !(s === IN_WORD && classWord[c]) ? stateOf(first) : emptyAfter(c);
      }
    // Breadth first: a node's fallback (the longest partial key that ends where it ends and
    // starts where a key may start, or the state without one) is shallower, so its row is done.
    // A node's row is its fallback's with its own children over it.
    const fallback = new Int32Array(nodes);
    const none: number[] = [];
    const keyOutputs: number[][] = new Array(states).fill(none);
    const queue = new Int32Array(nodes);
    let queued = 0;
    for (let k = firstChild[0]; k !== 0; k = nextSibling[k]) {
      fallback[k] = emptyAfter(lastClass[k]);
      queue[queued++] = k;
    }
    for (let q = 0; q < queued; q++) {
      const node = queue[q];
      const s = stateOf(node);
      const back = fallback[node];
      const own = ends[node];
      const inherited = keyOutputs[back];
      keyOutputs[s] = own === undefined ? inherited : inherited.length === 0 ? own : [...own, ...inherited];
      step.copyWithin(s << shift, back << shift, (back << shift) + classes);
      for (let k = firstChild[node]; k !== 0; k = nextSibling[k]) {
        step[(s << shift) | lastClass[k]] = stateOf(k);
        fallback[k] = step[(back << shift) | lastClass[k]];
        queue[queued++] = k;
      }
    }
    // Outputs per state: its keys, and whether the character just read is a break.
    const outputAt = new Int32Array(states);
    const outputs: number[] = [0];
    for (let s = 0; s < states; s++) {
      const brk =
        s === AFTER_BREAK || (s >= FIRST_NODE_STATE && classBreak[lastClass[s - FIRST_NODE_STATE + 1]]);
      const list = keyOutputs[s];
      if (list.length === 0 && !brk) continue;
      outputAt[s] = outputs.length;
      outputs.push(list.length / 2 + (brk ? 1 : 0));
      if (brk) outputs.push(BREAK_OUTPUT, 1);
      for (const x of list) outputs.push(x);
    }
    // Renumbered with the states that have outputs last: the scan tells them by their number
    // (s >= firstOutput) instead of reading a table per character. The start state stays 0.
    const renamed = new Int32Array(states);
    let next = 0;
    for (let s = 0; s < states; s++) if (outputAt[s] === 0) renamed[s] = next++;
    this.firstOutput = next;
    for (let s = 0; s < states; s++) if (outputAt[s] !== 0) renamed[s] = next++;
    for (let k = 0; k < step.length; k++) step[k] = renamed[step[k]];
    this.step = new Uint16Array(states << shift);
    this.outputAt = new Int32Array(states);
    for (let s = 0; s < states; s++) {
      this.step.set(step.subarray(s << shift, (s + 1) << shift), renamed[s] << shift);
      this.outputAt[renamed[s]] = outputAt[s];
    }
    this.outputs = Int32Array.from(outputs);
    this.warmUp = Math.max(...depth.subarray(0, nodes)) + 2;
    this.result = {
      ids: new Int32Array(keys.length),
      idCount: 0,
      count: new Int32Array(keys.length),
      first: new Int32Array(keys.length),
      starts: new Int32Array(1024),
      breaks: new Int32Array(8192),
      breakCount: 0,
    };
    this.scan = this.scanner();
  }

  /**
   * The scan, as a function created once per automaton around its tables. V8 specialises a
   * function that is created only once to the variables it closes over, so the tables are
   * constants of the compiled loop: 0.65 instead of 0.80 ms per pass of the benign corpus in a
   * throwaway benchmark (the same loop reading them from `this`). With several automatons (tests)
   * it runs as fast as the method did.
   */
  private scanner(): (text: string) => TriggerScan {
    const tables = {
      step: this.step,
      cls: this.cls,
      firstOutput: this.firstOutput,
      shift: this.shift,
      warmUp: this.warmUp,
    };
    return (text) => {
      // Read once: loads of a closure's variables may be repeated in a loop when V8 does not
      // specialise it (e.g. a second automaton).
      const { step, cls, firstOutput, shift, warmUp } = tables;
      const found = this.result;
      for (let k = 0; k < found.idCount; k++) found.count[found.ids[k]] = 0;
      found.idCount = 0;
      found.breakCount = 0;
      // A long text's breaks and key positions are not kept for the next one.
      if (found.breaks.length > REUSED_LENGTH) found.breaks = new Int32Array(8192);
      if (found.starts.length > REUSED_LENGTH) found.starts = new Int32Array(1024);
      if (this.pairs.length > 2 * REUSED_LENGTH) this.pairs = new Int32Array(2 * 1024);
      const n = text.length;
      // The text's code units, then a 0 (a non-word character) where the scan stops.
      const codes = codeUnits(text, this.units, 1);
      let records = this.records;
      if (records.length < 2 * (n + 2)) {
        records = new Int32Array(2 * (n + 2));
        if (n <= REUSED_LENGTH) this.records = records;
      }
      // Records are (state, position) pairs of states with outputs; few characters have any.
      // The end of the text (position n) reads as a non-word character.
      let r1 = 0;
      if (n < SPLIT_MIN_FACTOR * warmUp) {
        let s = AFTER_OTHER;
        for (let i = 0; i <= n; i++) {
          s = step[(s << shift) | cls[codes[i]]];
          if (s >= firstOutput) {
            records[r1++] = s;
            records[r1++] = i;
          }
        }
        this.group(this.emit(records, 0, r1, 0));
        return found;
      }
      // Four cursors, one per quarter: each step waits for the previous one's table read, so
      // independent chains keep the processor busy (four read the corpus in 0.52 ms per pass
      // where two took 0.59). Cursors b, c and d start `warmUp` characters before their quarter,
      // where they reach the state a single cursor would have, and report from the quarter on.
      // Each quarter's records go to their own part of `records`, so they stay in text order.
      const q = n >> 2;
      const ob = q - warmUp;
      const oc = 2 * q - warmUp;
      const od = 3 * q - warmUp;
      let a = AFTER_OTHER;
      let b = AFTER_OTHER;
      let c = AFTER_OTHER;
      let d = AFTER_OTHER;
      let rb = 2 * q;
      let rc = 4 * q;
      let rd = 6 * q;
      let i = 0;
      for (; i < warmUp; i++) {
        a = step[(a << shift) | cls[codes[i]]];
        b = step[(b << shift) | cls[codes[ob + i]]];
        c = step[(c << shift) | cls[codes[oc + i]]];
        d = step[(d << shift) | cls[codes[od + i]]];
        if (a >= firstOutput) {
          records[r1++] = a;
          records[r1++] = i;
        }
      }
      for (; i < q; i++) {
        a = step[(a << shift) | cls[codes[i]]];
        b = step[(b << shift) | cls[codes[ob + i]]];
        c = step[(c << shift) | cls[codes[oc + i]]];
        d = step[(d << shift) | cls[codes[od + i]]];
        if (a >= firstOutput || b >= firstOutput || c >= firstOutput || d >= firstOutput) {
          if (a >= firstOutput) {
            records[r1++] = a;
            records[r1++] = i;
          }
          if (b >= firstOutput) {
            records[rb++] = b;
            records[rb++] = ob + i;
          }
          if (c >= firstOutput) {
            records[rc++] = c;
            records[rc++] = oc + i;
          }
          if (d >= firstOutput) {
            records[rd++] = d;
            records[rd++] = od + i;
          }
        }
      }
      // The last `warmUp` characters of quarters b and c (a is done), then the rest of d.
      for (; i < q + warmUp; i++) {
        b = step[(b << shift) | cls[codes[ob + i]]];
        c = step[(c << shift) | cls[codes[oc + i]]];
        d = step[(d << shift) | cls[codes[od + i]]];
        if (b >= firstOutput || c >= firstOutput || d >= firstOutput) {
          if (b >= firstOutput) {
            records[rb++] = b;
            records[rb++] = ob + i;
          }
          if (c >= firstOutput) {
            records[rc++] = c;
            records[rc++] = oc + i;
          }
          if (d >= firstOutput) {
            records[rd++] = d;
            records[rd++] = od + i;
          }
        }
      }
      for (let j = od + i; j <= n; j++) {
        d = step[(d << shift) | cls[codes[j]]];
        if (d >= firstOutput) {
          records[rd++] = d;
          records[rd++] = j;
        }
      }
      let pairs = this.emit(records, 0, r1, 0);
      pairs = this.emit(records, 2 * q, rb, pairs);
      pairs = this.emit(records, 4 * q, rc, pairs);
      this.group(this.emit(records, 6 * q, rd, pairs));
      return found;
    };
  }

  /**
   * Files the recorded outputs, in text order: breaks into the result, key occurrences as
   * (id, start) pairs from `pair` on, counted per key. Returns where the pairs end.
   */
  private emit(records: Int32Array, from: number, to: number, pair: number): number {
    const found = this.result;
    const { outputs, outputAt } = this;
    const count = found.count;
    let pairs = this.pairs;
    for (let q = from; q < to; q += 2) {
      const o = outputAt[records[q]];
      const end = records[q + 1];
      const n = outputs[o];
      for (let k = 0; k < n; k++) {
        const id = outputs[o + 1 + 2 * k];
        if (id === BREAK_OUTPUT) {
          if (found.breakCount === found.breaks.length) {
            const grown = new Int32Array(2 * found.breaks.length);
            grown.set(found.breaks);
            found.breaks = grown;
          }
          found.breaks[found.breakCount++] = end;
          continue;
        }
        if (pair === pairs.length) {
          const grown = new Int32Array(2 * pairs.length);
          grown.set(pairs);
          this.pairs = pairs = grown;
        }
        pairs[pair++] = id;
        pairs[pair++] = end - outputs[o + 2 + 2 * k] + 1;
        if (count[id]++ === 0) found.ids[found.idCount++] = id;
      }
    }
    return pair;
  }

  /** Groups the first `length` entries of `pairs` by key into `starts` (a counting sort). */
  private group(length: number): void {
    const found = this.result;
    const { count, first, ids } = found;
    // first[id] = where key id's run ends; filled from the back, so it ends where the run starts
    // and each run keeps the text order.
    let total = 0;
    for (let k = 0; k < found.idCount; k++) {
      const id = ids[k];
      total += count[id];
      first[id] = total;
    }
    if (found.starts.length < total) found.starts = new Int32Array(2 * total);
    const { starts } = found;
    const pairs = this.pairs;
    for (let p = length - 2; p >= 0; p -= 2) starts[--first[pairs[p]]] = pairs[p + 1];
  }
}
