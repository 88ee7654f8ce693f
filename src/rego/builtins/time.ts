// time.* builtins over ./gotime.ts. time.now_ns is fixed per query (BuiltinContext.nowNs).

import { normBig, typeName, type Value } from "../value.js";
import { builtinErr, intArg, numArg, str, typeErr } from "./args.js";
import {
  addDate,
  formatTime,
  loadZone,
  parseDuration,
  parseTime,
  TimeError,
  timeDiff,
  toCivil,
  UTC,
  WEEKDAYS,
  type Zone,
} from "./gotime.js";
import { type BuiltinImpl, registerBuiltin } from "./types.js";

/** Runs `f`, turning the time package's errors into OPA builtin errors. */
function guarded(name: string, f: BuiltinImpl): BuiltinImpl {
  return (args, bctx) => {
    try {
      return f(args, bctx);
    } catch (e) {
      if (e instanceof TimeError) throw builtinErr(name, e.message);
      throw e;
    }
  };
}

function reg(name: string, arity: number, f: BuiltinImpl, nondeterministic = false): void {
  registerBuiltin(name, guarded(name, f), { arity, nondeterministic });
}

/** A timestamp operand as OPA's tzTime reads it: ns, or [ns], [ns, zone] or [ns, zone, layout]. */
function instant(name: string, v: Value): { ns: bigint; zone: Zone; layout?: string } {
  const shape = "operand 1 must be either number (ns) or [number (ns), string (tz)]";
  if (typeof v === "number" || typeof v === "bigint") return { ns: exactNs(v), zone: UTC };
  if (!Array.isArray(v) || v.length === 0) throw typeErr(name, `${shape} but got ${typeName(v)}`);
  const out: { ns: bigint; zone: Zone; layout?: string } = { ns: exactNs(numArg(name, 1, v[0])), zone: UTC };
  if (v.length > 1) out.zone = loadZone(str(name, 1, v[1]));
  if (v.length > 2) out.layout = str(name, 1, v[2]);
  return out;
}

/** Nanoseconds as int64; anything else (a fraction, beyond int64) is "timestamp too big" as in OPA. */
function exactNs(n: number | bigint): bigint {
  if (typeof n === "number" && !Number.isInteger(n)) throw new TimeError("timestamp too big");
  const b = BigInt(n);
  if (b > 2n ** 63n - 1n || b < -(2n ** 63n)) throw new TimeError("timestamp too big");
  return b;
}

reg("time.now_ns", 0, (_a, bctx) => normBig(bctx.nowNs), true);

reg("time.parse_ns", 2, ([l, v]) =>
  normBig(checkNs(parseTime(str("time.parse_ns", 1, l), str("time.parse_ns", 2, v)))),
);
reg("time.parse_rfc3339_ns", 1, ([v]) =>
  normBig(checkNs(parseTime("2006-01-02T15:04:05Z07:00", str("time.parse_rfc3339_ns", 1, v)))),
);
reg("time.parse_duration_ns", 1, ([v]) => normBig(parseDuration(str("time.parse_duration_ns", 1, v))));

function checkNs(ns: bigint): bigint {
  if (ns > 2n ** 63n - 1n || ns < -(2n ** 63n)) throw new TimeError("time outside of valid range");
  return ns;
}

reg("time.format", 1, ([v]) => {
  const t = instant("time.format", v);
  return formatTime(t.ns, t.layout ?? "RFC3339Nano", t.zone);
});

reg("time.date", 1, ([v]) => {
  const t = instant("time.date", v);
  const c = toCivil(t.ns, t.zone);
  return [c.year, c.month, c.day];
});
reg("time.clock", 1, ([v]) => {
  const t = instant("time.clock", v);
  const c = toCivil(t.ns, t.zone);
  return [c.hour, c.minute, c.second];
});
reg("time.weekday", 1, ([v]) => {
  const t = instant("time.weekday", v);
  return WEEKDAYS[toCivil(t.ns, t.zone).weekday];
});

reg("time.add_date", 4, ([v, y, m, d]) => {
  const t = instant("time.add_date", v);
  return normBig(
    addDate(
      t.ns,
      Number(intArg("time.add_date", 2, y)),
      Number(intArg("time.add_date", 3, m)),
      Number(intArg("time.add_date", 4, d)),
      t.zone,
    ),
  );
});

reg("time.diff", 2, ([a, b]) => {
  const x = instant("time.diff", a);
  const y = instant("time.diff", b);
  return timeDiff(x.ns, y.ns, x.zone);
});
