// The hits of one detector over one text, where a character belongs to at most one hit (the first
// reported): the secrets and PII detectors report spans that redaction replaces.
import type { DetectorHit } from "./types.js";

export class ClaimedHits {
  readonly hits: DetectorHit[] = [];
  // Characters already claimed by a hit: overlap checks stay O(span) however many hits there are.
  private covered: Uint8Array | undefined;

  constructor(protected readonly text: string) {}

  /** Claims [start, end) for a new hit; false when an earlier hit holds one of its characters. */
  protected claim(start: number, end: number): boolean {
    this.covered ??= new Uint8Array(this.text.length);
    for (let i = start; i < end; i++) if (this.covered[i]) return false;
    this.covered.fill(1, start, end);
    return true;
  }
}
