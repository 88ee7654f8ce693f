// Warden's own log: JSON lines on stderr (stdout belongs to the MCP stdio transport).
import { pino } from "pino";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFn = (level: LogLevel, msg: string) => void;

export function createLogger(level = process.env.WARDEN_LOG_LEVEL ?? "info"): LogFn {
  const logger = pino({ name: "warden", level, base: undefined }, pino.destination({ fd: 2, sync: false }));
  return (lvl, msg) => logger[lvl](msg);
}

export const silentLogger: LogFn = () => {};
