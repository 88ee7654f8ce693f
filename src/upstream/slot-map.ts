// A Map for per-call entries that usually holds one at a time (the request in flight at c=1).
// V8 reallocates a Map's table when its last entry is deleted and again when the next one is
// added (~150 B of garbage per set/delete cycle); here the first entry lives in two fields and
// only the others go to a real Map, made when first needed. Keys compare like Map keys
// (SameValueZero). Iteration yields the slot's entry first, then the others in insertion order.

const EMPTY: unique symbol = Symbol("empty slot");

export class SlotMap<K, V> {
  private key: K | typeof EMPTY = EMPTY;
  private value: V | undefined;
  private more?: Map<K, V>;

  get size(): number {
    return (this.key === EMPTY ? 0 : 1) + (this.more?.size ?? 0);
  }

  private isSlot(key: K): boolean {
    const k = this.key;
    // SameValueZero: NaN matches NaN (=== already treats +0 and -0 alike).
    return k === key || (Number.isNaN(k) && Number.isNaN(key));
  }

  get(key: K): V | undefined {
    if (this.isSlot(key)) return this.value;
    return this.more?.get(key);
  }

  has(key: K): boolean {
    return this.isSlot(key) || (this.more?.has(key) ?? false);
  }

  set(key: K, value: V): this {
    if (this.isSlot(key)) this.value = value;
    else if (this.key === EMPTY && !this.more?.has(key)) {
      this.key = key;
      this.value = value;
    } else {
      this.more ??= new Map();
      this.more.set(key, value);
    }
    return this;
  }

  delete(key: K): boolean {
    if (this.isSlot(key)) {
      this.key = EMPTY;
      this.value = undefined;
      return true;
    }
    return this.more?.delete(key) ?? false;
  }

  clear(): void {
    this.key = EMPTY;
    this.value = undefined;
    this.more?.clear();
  }

  *entries(): IterableIterator<[K, V]> {
    if (this.key !== EMPTY) yield [this.key, this.value as V];
    if (this.more) yield* this.more.entries();
  }

  *keys(): IterableIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }
}
