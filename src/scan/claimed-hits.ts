// The hits of one detector over one text, where a character belongs to at most one hit (the first
// reported): the secrets and PII detectors report spans that redaction replaces.
import type { DetectorHit } from "./types.js";

// Claims kept as a list of ranges up to this many; beyond, one byte per character of the text.
const LISTED_CLAIMS = 16;

export class ClaimedHits {
  readonly hits: DetectorHit[] = [];
  // Most texts have no hit or a few: their claims are checked against a short list of ranges (no
  // allocation the length of the text). Past LISTED_CLAIMS, characters already claimed are marked
  // in `covered`, so overlap checks stay O(span) however many hits there are.
  private readonly claimedStarts: number[] = [];
  private readonly claimedEnds: number[] = [];
  private covered: Uint8Array | undefined;

  constructor(protected readonly text: string) {}

  /** Claims [start, end) for a new hit; false when an earlier hit holds one of its characters. */
  protected claim(start: number, end: number): boolean {
    if (start >= end) return true; // holds no character (and blocks none)
    if (this.covered !== undefined) return this.claimCovered(start, end);
    const starts = this.claimedStarts;
    const ends = this.claimedEnds;
    for (let k = 0; k < starts.length; k++) if (start < ends[k] && starts[k] < end) return false;
    if (starts.length < LISTED_CLAIMS) {
      starts.push(start);
      ends.push(end);
      return true;
    }
    const covered = new Uint8Array(this.text.length);
    for (let k = 0; k < starts.length; k++) covered.fill(1, starts[k], ends[k]);
    this.covered = covered;
    return this.claimCovered(start, end);
  }

  private claimCovered(start: number, end: number): boolean {
    const covered = this.covered as Uint8Array;
    for (let i = start; i < end; i++) if (covered[i]) return false;
    covered.fill(1, start, end);
    return true;
  }
}
