// How many CPUs this process may keep busy: the machine's (or its affinity mask's) count, lowered
// by a container's CPU quota. Busy-polling on `auto` asks it, because spinning on a single CPU
// takes it from the server that is to answer, and spinning under a quota is throttled.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

/** cgroup v2 `cpu.max` ("max 100000" or "QUOTA PERIOD") as CPUs; undefined when unlimited or unreadable. */
export function cgroupV2Cpus(cpuMax: string): number | undefined {
  const [quota, period] = cpuMax.trim().split(/\s+/);
  if (quota === undefined || quota === "max") return undefined;
  const q = Number(quota);
  const p = Number(period ?? 100_000);
  return q > 0 && p > 0 ? q / p : undefined;
}

/** cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` as CPUs; undefined when unlimited (-1). */
export function cgroupV1Cpus(quotaUs: string, periodUs: string): number | undefined {
  const q = Number(quotaUs.trim());
  const p = Number(periodUs.trim());
  return q > 0 && p > 0 ? q / p : undefined;
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** The container's CPU quota as seen from inside it (its cgroup namespace root), if any. */
function cgroupCpus(): number | undefined {
  const v2 = readOr("/sys/fs/cgroup/cpu.max");
  if (v2 !== undefined) return cgroupV2Cpus(v2);
  const quota =
    readOr("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") ?? readOr("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us");
  const period =
    readOr("/sys/fs/cgroup/cpu/cpu.cfs_period_us") ?? readOr("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us");
  return quota !== undefined && period !== undefined ? cgroupV1Cpus(quota, period) : undefined;
}

let cached: number | undefined;

/** CPUs this process may use: min(available parallelism, cgroup quota). Read once. */
export function usableCpus(): number {
  if (cached === undefined) {
    const quota = process.platform === "linux" ? cgroupCpus() : undefined;
    cached = Math.min(availableParallelism(), quota ?? Number.POSITIVE_INFINITY);
  }
  return cached;
}
