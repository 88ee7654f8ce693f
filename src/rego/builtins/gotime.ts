// Go's time package, as far as OPA's time.* builtins need it: nanosecond instants in int64,
// civil dates in a zone (IANA zones through Intl), Go reference-time layouts for formatting
// and parsing, and Go duration strings. Everything is bigint nanoseconds so no precision is
// lost near the int64 limits (years 1678–2262).

export const NS_PER_SEC = 1_000_000_000n;
const MIN_NS = -(2n ** 63n);
const MAX_NS = 2n ** 63n - 1n;

export class TimeError extends Error {}

export interface Civil {
  year: number;
  month: number; // 1..12
  day: number;
  hour: number;
  minute: number;
  second: number;
  nanos: number;
  weekday: number; // 0 = Sunday
  yday: number; // 1..366
  offset: number; // seconds east of UTC
  abbrev: string;
}

const LONG_MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const LONG_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
export const WEEKDAYS = LONG_DAYS;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** Days since 1970-01-01 for a proleptic Gregorian date (month/day may overflow). */
export function daysFromCivil(y: number, m: number, d: number): number {
  // normalise month into year
  y += Math.floor((m - 1) / 12);
  m = ((((m - 1) % 12) + 12) % 12) + 1;
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5);
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468 + (d - 1);
}

export function civilFromDays(z: number): { year: number; month: number; day: number } {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const y = yoe + era * 400;
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { year: m <= 2 ? y + 1 : y, month: m, day: d };
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

// ---- zones ----------------------------------------------------------------------------

export interface Zone {
  name: string;
  /** offset in seconds east of UTC and abbreviation at the given unix second */
  at(unixSec: number): { offset: number; abbrev: string };
}

export const UTC: Zone = { name: "UTC", at: () => ({ offset: 0, abbrev: "UTC" }) };

const zoneCache = new Map<string, Zone>();

/** Loads a zone like Go's time.LoadLocation: "" and "UTC" are UTC, "Local" is the host zone. */
export function loadZone(name: string): Zone {
  if (name === "" || name === "UTC") return UTC;
  const cached = zoneCache.get(name);
  if (cached) return cached;
  const iana = name === "Local" ? Intl.DateTimeFormat().resolvedOptions().timeZone : name;
  let fmt: Intl.DateTimeFormat;
  let abbrFmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat("en-US", {
      timeZone: iana,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      era: "short",
    });
    abbrFmt = new Intl.DateTimeFormat("en-US", { timeZone: iana, timeZoneName: "short" });
  } catch {
    throw new TimeError(`unknown time zone ${name}`);
  }
  const zone: Zone = {
    name,
    at(unixSec: number) {
      // Intl only covers JS Date's range; clamp (zones are fixed far from now anyway).
      const ms = Math.max(Math.min(unixSec * 1000, 8.64e15), -8.64e15);
      const date = new Date(ms);
      const parts: Record<string, string> = {};
      for (const p of fmt.formatToParts(date)) parts[p.type] = p.value;
      let year = Number(parts.year);
      if (parts.era === "BC" || parts.era === "B") year = 1 - year;
      const local =
        daysFromCivil(year, Number(parts.month), Number(parts.day)) * 86400 +
        Number(parts.hour) * 3600 +
        Number(parts.minute) * 60 +
        Number(parts.second);
      const offset = local - Math.floor(ms / 1000);
      let abbrev = abbrFmt.formatToParts(date).find((p) => p.type === "timeZoneName")?.value ?? "";
      if (/^GMT[+-]/.test(abbrev) || abbrev === "GMT") abbrev = offsetAbbrev(offset);
      return { offset, abbrev };
    },
  };
  zoneCache.set(name, zone);
  return zone;
}

function offsetAbbrev(offset: number): string {
  // Go prints numeric zones as e.g. "+03" or "-0930" when there is no abbreviation.
  if (offset === 0) return "UTC";
  const sign = offset < 0 ? "-" : "+";
  const a = Math.abs(offset);
  const h = Math.floor(a / 3600);
  const m = Math.floor((a % 3600) / 60);
  return `${sign}${String(h).padStart(2, "0")}${m ? String(m).padStart(2, "0") : ""}`;
}

export function toCivil(ns: bigint, zone: Zone = UTC): Civil {
  const sec = floorDiv(ns, NS_PER_SEC);
  const nanos = Number(ns - sec * NS_PER_SEC);
  const { offset, abbrev } = zone.at(Number(sec));
  const local = Number(sec) + offset;
  const days = Math.floor(local / 86400);
  const sod = local - days * 86400;
  const { year, month, day } = civilFromDays(days);
  return {
    year,
    month,
    day,
    hour: Math.floor(sod / 3600),
    minute: Math.floor((sod % 3600) / 60),
    second: sod % 60,
    nanos,
    weekday: (((days + 4) % 7) + 7) % 7,
    yday: days - daysFromCivil(year, 1, 1) + 1,
    offset,
    abbrev,
  };
}

/** Go's time.Date(...).UnixNano() in a zone; fields may overflow and are normalised. */
export function fromCivil(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  nanos: bigint,
  zone: Zone = UTC,
): bigint {
  const days = BigInt(daysFromCivil(year, month, day));
  const local = days * 86400n + BigInt(hour) * 3600n + BigInt(minute) * 60n + BigInt(second);
  let offset = 0;
  if (zone !== UTC) {
    // Go: use the offset in effect at (local - offset); try twice for transitions.
    offset = zone.at(Number(local)).offset;
    const o2 = zone.at(Number(local) - offset).offset;
    if (o2 !== offset) offset = zone.at(Number(local) - o2).offset === o2 ? o2 : offset;
  }
  return (local - BigInt(offset)) * NS_PER_SEC + nanos;
}

export function checkRange(ns: bigint): bigint {
  if (ns < MIN_NS || ns > MAX_NS) throw new TimeError("time outside of valid range");
  return ns;
}

// ---- layouts --------------------------------------------------------------------------

/** The layout names OPA accepts in place of a layout (time.format, time.parse_ns). */
export const NAMED_LAYOUTS: Record<string, string> = {
  ANSIC: "Mon Jan _2 15:04:05 2006",
  UnixDate: "Mon Jan _2 15:04:05 MST 2006",
  RubyDate: "Mon Jan 02 15:04:05 -0700 2006",
  RFC822: "02 Jan 06 15:04 MST",
  RFC822Z: "02 Jan 06 15:04 -0700",
  RFC850: "Monday, 02-Jan-06 15:04:05 MST",
  RFC1123: "Mon, 02 Jan 2006 15:04:05 MST",
  RFC1123Z: "Mon, 02 Jan 2006 15:04:05 -0700",
  RFC3339: "2006-01-02T15:04:05Z07:00",
  RFC3339Nano: "2006-01-02T15:04:05.999999999Z07:00",
};

type Token =
  | { t: "lit"; s: string }
  | { t: "std"; k: string }
  | { t: "frac"; zeros: boolean; n: number; sep: string };

const TZ_STD = [
  "Z070000",
  "Z07:00:00",
  "Z0700",
  "Z07:00",
  "Z07",
  "-070000",
  "-07:00:00",
  "-0700",
  "-07:00",
  "-07",
];

const layoutCache = new Map<string, Token[]>();

/** Splits a Go layout into literal text and standard chunks (Go's nextStdChunk). */
export function tokenizeLayout(layout: string): Token[] {
  const cached = layoutCache.get(layout);
  if (cached) return cached;
  const out: Token[] = [];
  let lit = "";
  const push = (tok: Token) => {
    if (lit) out.push({ t: "lit", s: lit });
    lit = "";
    out.push(tok);
  };
  let i = 0;
  const L = layout;
  outer: while (i < L.length) {
    const rest = L.slice(i);
    const c = L[i];
    switch (c) {
      case "J":
        if (rest.startsWith("January")) {
          push({ t: "std", k: "January" });
          i += 7;
          continue;
        }
        if (rest.startsWith("Jan")) {
          push({ t: "std", k: "Jan" });
          i += 3;
          continue;
        }
        break;
      case "M":
        if (rest.startsWith("Monday")) {
          push({ t: "std", k: "Monday" });
          i += 6;
          continue;
        }
        if (rest.startsWith("Mon")) {
          push({ t: "std", k: "Mon" });
          i += 3;
          continue;
        }
        if (rest.startsWith("MST")) {
          push({ t: "std", k: "MST" });
          i += 3;
          continue;
        }
        break;
      case "0":
        if (rest.startsWith("002")) {
          push({ t: "std", k: "002" });
          i += 3;
          continue;
        }
        if (L[i + 1] >= "1" && L[i + 1] <= "6") {
          push({ t: "std", k: `0${L[i + 1]}` });
          i += 2;
          continue;
        }
        break;
      case "1":
        if (L[i + 1] === "5") {
          push({ t: "std", k: "15" });
          i += 2;
          continue;
        }
        push({ t: "std", k: "1" });
        i += 1;
        continue;
      case "2":
        if (rest.startsWith("2006")) {
          push({ t: "std", k: "2006" });
          i += 4;
          continue;
        }
        push({ t: "std", k: "2" });
        i += 1;
        continue;
      case "_":
        if (L[i + 1] === "2") {
          if (rest.startsWith("_2006")) {
            lit += "_";
            i += 1;
            continue;
          }
          push({ t: "std", k: "_2" });
          i += 2;
          continue;
        }
        if (rest.startsWith("__2")) {
          push({ t: "std", k: "__2" });
          i += 3;
          continue;
        }
        break;
      case "3":
      case "4":
      case "5":
        push({ t: "std", k: c });
        i += 1;
        continue;
      case "P":
        if (L[i + 1] === "M") {
          push({ t: "std", k: "PM" });
          i += 2;
          continue;
        }
        break;
      case "p":
        if (L[i + 1] === "m") {
          push({ t: "std", k: "pm" });
          i += 2;
          continue;
        }
        break;
      case "-":
      case "Z":
        for (const z of TZ_STD) {
          const zz = c === "Z" ? z : z.replace(/^Z/, "-");
          if (z[0] === c && rest.startsWith(zz)) {
            push({ t: "std", k: zz });
            i += zz.length;
            continue outer;
          }
        }
        break;
      case ".":
      case ",":
        if (L[i + 1] === "0" || L[i + 1] === "9") {
          const d = L[i + 1];
          let j = i + 1;
          while (j < L.length && L[j] === d) j++;
          if (!(L[j] >= "0" && L[j] <= "9")) {
            push({ t: "frac", zeros: d === "0", n: j - i - 1, sep: c });
            i = j;
            continue;
          }
        }
        break;
    }
    lit += c;
    i += 1;
  }
  if (lit) out.push({ t: "lit", s: lit });
  layoutCache.set(layout, out);
  return out;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function fmtZone(k: string, offset: number): string {
  if (k[0] === "Z" && offset === 0) return "Z";
  const sign = offset < 0 ? "-" : "+";
  const a = Math.abs(offset);
  const h = pad2(Math.floor(a / 3600));
  const m = pad2(Math.floor((a % 3600) / 60));
  const s = pad2(a % 60);
  const body = k.slice(1);
  switch (body) {
    case "07":
      return sign + h;
    case "0700":
      return sign + h + m;
    case "07:00":
      return `${sign}${h}:${m}`;
    case "070000":
      return sign + h + m + s;
    default:
      return `${sign}${h}:${m}:${s}`;
  }
}

/** Go's Time.Format. */
export function formatTime(ns: bigint, layout: string, zone: Zone = UTC): string {
  const c = toCivil(ns, zone);
  let out = "";
  for (const tok of tokenizeLayout(NAMED_LAYOUTS[layout] ?? layout)) {
    if (tok.t === "lit") {
      out += tok.s;
      continue;
    }
    if (tok.t === "frac") {
      const digits = String(c.nanos).padStart(9, "0").slice(0, tok.n);
      if (tok.zeros) out += tok.sep + digits;
      else {
        const trimmed = digits.replace(/0+$/, "");
        if (trimmed) out += tok.sep + trimmed;
      }
      continue;
    }
    switch (tok.k) {
      case "January":
        out += LONG_MONTHS[c.month - 1];
        break;
      case "Jan":
        out += LONG_MONTHS[c.month - 1].slice(0, 3);
        break;
      case "1":
        out += c.month;
        break;
      case "01":
        out += pad2(c.month);
        break;
      case "Monday":
        out += LONG_DAYS[c.weekday];
        break;
      case "Mon":
        out += LONG_DAYS[c.weekday].slice(0, 3);
        break;
      case "2":
        out += c.day;
        break;
      case "_2":
        out += c.day < 10 ? ` ${c.day}` : c.day;
        break;
      case "02":
        out += pad2(c.day);
        break;
      case "__2":
        out += String(c.yday).padStart(3, " ");
        break;
      case "002":
        out += String(c.yday).padStart(3, "0");
        break;
      case "15":
        out += pad2(c.hour);
        break;
      case "3":
        out += c.hour % 12 === 0 ? 12 : c.hour % 12;
        break;
      case "03":
        out += pad2(c.hour % 12 === 0 ? 12 : c.hour % 12);
        break;
      case "4":
        out += c.minute;
        break;
      case "04":
        out += pad2(c.minute);
        break;
      case "5":
        out += c.second;
        break;
      case "05":
        out += pad2(c.second);
        break;
      case "2006":
        out += c.year < 0 ? `-${String(-c.year).padStart(4, "0")}` : String(c.year).padStart(4, "0");
        break;
      case "06":
        out += pad2(((c.year % 100) + 100) % 100);
        break;
      case "PM":
        out += c.hour >= 12 ? "PM" : "AM";
        break;
      case "pm":
        out += c.hour >= 12 ? "pm" : "am";
        break;
      case "MST":
        out += c.abbrev;
        break;
      default:
        out += fmtZone(tok.k, c.offset);
    }
  }
  return out;
}

/** Go's time.Parse error text: parsing time "v" as "layout": cannot parse "rest" as "elem". */
function parseErr(value: string, layout: string, rest: string, elem: string, extra = ""): TimeError {
  return new TimeError(
    `parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: cannot parse ${JSON.stringify(rest)} as ${JSON.stringify(elem)}${extra}`,
  );
}

function takeNum(s: string, min: number, max: number): [number, string] | undefined {
  let j = 0;
  while (j < s.length && j < max && s[j] >= "0" && s[j] <= "9") j++;
  if (j < min) return undefined;
  return [Number(s.slice(0, j)), s.slice(j)];
}

function lookupName(s: string, names: string[], short: boolean): [number, string] | undefined {
  for (let i = 0; i < names.length; i++) {
    const n = short ? names[i].slice(0, 3) : names[i];
    if (s.length >= n.length && s.slice(0, n.length).toLowerCase() === n.toLowerCase()) {
      return [i, s.slice(n.length)];
    }
  }
  return undefined;
}

/** Go's time.Parse (zone-less values are UTC). Returns unix nanoseconds. */
export function parseTime(layoutIn: string, value: string): bigint {
  const layout = NAMED_LAYOUTS[layoutIn] ?? layoutIn;
  let s = value;
  let year = 1;
  let month = 1;
  let day = 1;
  let yday = -1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let nanos = 0n;
  let pmSet = false;
  let amSet = false;
  let offset: number | undefined;
  let zoneAbbrev: string | undefined;
  const tokens = tokenizeLayout(layout);
  for (let ti = 0; ti < tokens.length; ti++) {
    const tok = tokens[ti];
    if (tok.t === "lit") {
      // Go skips leading spaces equivalently; keep it strict but tolerant of spaces.
      if (!s.startsWith(tok.s)) throw parseErr(value, layout, s, tok.s);
      s = s.slice(tok.s.length);
      continue;
    }
    if (tok.t === "frac") {
      if (s[0] !== "." && s[0] !== ",") {
        if (tok.zeros) throw parseErr(value, layout, s, tok.sep + "0".repeat(tok.n));
        continue;
      }
      let j = 1;
      while (j < s.length && s[j] >= "0" && s[j] <= "9") j++;
      if (tok.zeros && j - 1 !== tok.n) throw parseErr(value, layout, s, tok.sep + "0".repeat(tok.n));
      nanos = BigInt(s.slice(1, j).padEnd(9, "0").slice(0, 9) || "0");
      s = s.slice(j);
      continue;
    }
    const k = tok.k;
    const hold = s;
    let r: [number, string] | undefined;
    switch (k) {
      case "2006":
        r = takeNum(s, 4, 4);
        if (!r) throw parseErr(value, layout, hold, k);
        [year, s] = r;
        break;
      case "06":
        r = takeNum(s, 2, 2);
        if (!r) throw parseErr(value, layout, hold, k);
        year = r[0] >= 69 ? r[0] + 1900 : r[0] + 2000;
        s = r[1];
        break;
      case "January":
      case "Jan":
        r = lookupName(s, LONG_MONTHS, k === "Jan");
        if (!r) throw parseErr(value, layout, hold, k);
        month = r[0] + 1;
        s = r[1];
        break;
      case "Monday":
      case "Mon":
        r = lookupName(s, LONG_DAYS, k === "Mon");
        if (!r) throw parseErr(value, layout, hold, k);
        s = r[1];
        break;
      case "1":
      case "01":
        r = takeNum(s, k === "01" ? 2 : 1, 2);
        if (!r || r[0] < 1 || r[0] > 12) throw parseErr(value, layout, hold, k, ": month out of range");
        [month, s] = r;
        break;
      case "2":
      case "_2":
      case "02":
        if (k === "_2" && s[0] === " ") s = s.slice(1);
        r = takeNum(s, k === "02" ? 2 : 1, 2);
        if (!r) throw parseErr(value, layout, hold, k);
        [day, s] = r;
        break;
      case "__2":
      case "002":
        if (k === "__2") s = s.replace(/^ {1,2}/, "");
        r = takeNum(s, k === "002" ? 3 : 1, 3);
        if (!r) throw parseErr(value, layout, hold, k);
        [yday, s] = r;
        break;
      case "15":
        r = takeNum(s, 1, 2);
        if (!r || r[0] > 23) throw parseErr(value, layout, hold, k, ": hour out of range");
        [hour, s] = r;
        break;
      case "3":
      case "03":
        r = takeNum(s, k === "03" ? 2 : 1, 2);
        if (!r || r[0] > 12) throw parseErr(value, layout, hold, k, ": hour out of range");
        [hour, s] = r;
        break;
      case "4":
      case "04":
        r = takeNum(s, k === "04" ? 2 : 1, 2);
        if (!r || r[0] > 59) throw parseErr(value, layout, hold, k, ": minute out of range");
        [minute, s] = r;
        break;
      case "5":
      case "05": {
        r = takeNum(s, k === "05" ? 2 : 1, 2);
        if (!r || r[0] > 59) throw parseErr(value, layout, hold, k, ": second out of range");
        [second, s] = r;
        // Go accepts a fractional second after seconds even if the layout has none.
        const next = tokens[ti + 1];
        if ((s[0] === "." || s[0] === ",") && s[1] >= "0" && s[1] <= "9" && !(next && next.t === "frac")) {
          let j = 1;
          while (j < s.length && s[j] >= "0" && s[j] <= "9") j++;
          nanos = BigInt(s.slice(1, j).padEnd(9, "0").slice(0, 9));
          s = s.slice(j);
        }
        break;
      }
      case "PM":
      case "pm": {
        const ap = s.slice(0, 2);
        const up = ap.toUpperCase();
        if ((k === "PM" && ap !== up) || (k === "pm" && ap !== ap.toLowerCase()))
          throw parseErr(value, layout, hold, k);
        if (up === "PM") pmSet = true;
        else if (up === "AM") amSet = true;
        else throw parseErr(value, layout, hold, k);
        s = s.slice(2);
        break;
      }
      case "MST": {
        const m = /^([A-Z]{3,5}|[+-]\d{2,4}|UTC|GMT[+-]?\d{0,2})/.exec(s);
        if (!m) throw parseErr(value, layout, hold, k);
        zoneAbbrev = m[1];
        s = s.slice(m[1].length);
        break;
      }
      default: {
        // numeric zones
        if (k[0] === "Z" && s[0] === "Z") {
          offset = 0;
          s = s.slice(1);
          break;
        }
        const body = k.slice(1);
        const re =
          body === "07"
            ? /^([+-])(\d\d)/
            : body === "0700"
              ? /^([+-])(\d\d)(\d\d)/
              : body === "07:00"
                ? /^([+-])(\d\d):(\d\d)/
                : body === "070000"
                  ? /^([+-])(\d\d)(\d\d)(\d\d)/
                  : /^([+-])(\d\d):(\d\d):(\d\d)/;
        const m = re.exec(s);
        if (!m) throw parseErr(value, layout, hold, k);
        const secs = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
        offset = m[1] === "-" ? -secs : secs;
        s = s.slice(m[0].length);
      }
    }
  }
  if (s.length > 0) {
    throw new TimeError(`parsing time ${JSON.stringify(value)}: extra text: ${JSON.stringify(s)}`);
  }
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;
  if (yday >= 0) {
    const leap = isLeap(year);
    if (yday < 1 || yday > (leap ? 366 : 365))
      throw new TimeError(`parsing time ${JSON.stringify(value)}: day-of-year out of range`);
    const c = civilFromDays(daysFromCivil(year, 1, 1) + yday - 1);
    month = c.month;
    day = c.day;
  }
  const dim = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (day < 1 || day > dim) throw new TimeError(`parsing time ${JSON.stringify(value)}: day out of range`);
  const local = fromCivil(year, month, day, hour, minute, second, nanos, UTC);
  if (offset !== undefined) return local - BigInt(offset) * NS_PER_SEC;
  if (zoneAbbrev !== undefined) {
    const m = /^([+-])(\d\d)(\d\d)?$/.exec(zoneAbbrev);
    if (m) {
      const secs = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60;
      return local - BigInt(m[1] === "-" ? -secs : secs) * NS_PER_SEC;
    }
    // Go fabricates a zero-offset location for unknown abbreviations.
    return local;
  }
  return local;
}

// ---- durations ------------------------------------------------------------------------

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  µs: 1000n,
  μs: 1000n,
  ms: 1_000_000n,
  s: NS_PER_SEC,
  m: 60n * NS_PER_SEC,
  h: 3600n * NS_PER_SEC,
};

/** Go's time.ParseDuration, returning nanoseconds. */
export function parseDuration(input: string): bigint {
  const bad = () => new TimeError(`time: invalid duration ${JSON.stringify(input)}`);
  let s = input;
  let neg = false;
  if (s[0] === "-" || s[0] === "+") {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") throw bad();
  let total = 0n;
  while (s.length > 0) {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s);
    if (!m || (m[1] === "" && (m[2] === undefined || m[2] === ""))) throw bad();
    s = s.slice(m[0].length);
    const u = /^[^\d.]+/.exec(s);
    if (!u) throw new TimeError(`time: missing unit in duration ${JSON.stringify(input)}`);
    const unit = UNIT_NS[u[0]];
    if (unit === undefined) {
      throw new TimeError(`time: unknown unit ${JSON.stringify(u[0])} in duration ${JSON.stringify(input)}`);
    }
    s = s.slice(u[0].length);
    let v = BigInt(m[1] || "0") * unit;
    if (m[2]) {
      const scale = 10n ** BigInt(m[2].length);
      v += (BigInt(m[2]) * unit) / scale;
    }
    total += v;
    if (total > 2n ** 63n) throw bad();
  }
  if (neg) total = -total;
  if (total > MAX_NS || total < MIN_NS) throw bad();
  return total;
}

// ---- calendar arithmetic --------------------------------------------------------------

/** Go's Time.AddDate in the time's zone. */
export function addDate(ns: bigint, years: number, months: number, days: number, zone: Zone = UTC): bigint {
  const c = toCivil(ns, zone);
  const out = fromCivil(
    c.year + years,
    c.month + months,
    c.day + days,
    c.hour,
    c.minute,
    c.second,
    BigInt(c.nanos),
    zone,
  );
  return checkRange(out);
}

/** OPA's time.diff: [years, months, days, hours, minutes, seconds] between two instants. */
export function timeDiff(ns1: bigint, ns2: bigint, zone: Zone = UTC): number[] {
  let a = toCivil(ns1, zone);
  let b = toCivil(ns2, zone);
  let aNs = ns1;
  let bNs = ns2;
  if (aNs > bNs) {
    [a, b] = [b, a];
    [aNs, bNs] = [bNs, aNs];
  }
  let year = b.year - a.year;
  let month = b.month - a.month;
  let day = b.day - a.day;
  let hour = b.hour - a.hour;
  let min = b.minute - a.minute;
  let sec = b.second - a.second;
  if (sec < 0) {
    sec += 60;
    min--;
  }
  if (min < 0) {
    min += 60;
    hour--;
  }
  if (hour < 0) {
    hour += 24;
    day--;
  }
  if (day < 0) {
    // OPA adds the length of a's month (Go: 32 - Date(y1, m1, 32).Day()).
    day += 32 - civilFromDays(daysFromCivil(a.year, a.month, 32)).day;
    month--;
  }
  if (month < 0) {
    month += 12;
    year--;
  }
  return [year, month, day, hour, min, sec];
}
