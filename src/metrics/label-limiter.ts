// Caps the distinct values a label may take so a hostile or buggy client cannot blow up
// Prometheus memory with unbounded tool names, reasons or servers.

export const OTHER_LABEL = "other";

export class LabelLimiter {
  private readonly seen = new Map<string, Set<string>>();

  constructor(private readonly maxValuesPerLabel = 100) {}

  /** Returns `value` if it is already known or there is room for it, else "other". */
  limit(label: string, value: string | undefined): string {
    const v = value === undefined || value === "" ? "none" : value;
    let set = this.seen.get(label);
    if (!set) {
      set = new Set();
      this.seen.set(label, set);
    }
    if (set.has(v)) return v;
    if (set.size >= this.maxValuesPerLabel) return OTHER_LABEL;
    set.add(v);
    return v;
  }
}
