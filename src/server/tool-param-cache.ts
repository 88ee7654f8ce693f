// The x-mcp-header declarations of downstream tools, learned from their tools/list answers, so a
// 2026-07-28 tools/call can be checked against its Mcp-Param-* headers without listing per call.
// Keyed by server and downstream tool name; a server's entries go when it says its list changed,
// and are ignored once the server has restarted (its new process may define other tools).
import { type ParamDeclaration, paramDeclarations } from "./param-headers.js";

const NONE: readonly ParamDeclaration[] = Object.freeze([]);

interface ServerTools {
  /** The server's restart count when these were learned. */
  generation: number;
  tools: Map<string, readonly ParamDeclaration[]>;
  /** A full listing was read: a tool not in `tools` does not exist (yet). */
  complete: boolean;
}

export class ToolParamCache {
  private readonly servers = new Map<string, ServerTools>();
  private readonly loading = new Map<string, Promise<void>>();

  /** Records the tools of one listing page (the downstream's own definitions). */
  learn(
    server: string,
    generation: number,
    tools: ReadonlyArray<Record<string, unknown>>,
    complete = false,
  ): void {
    let entry = this.servers.get(server);
    if (!entry || entry.generation !== generation) {
      entry = { generation, tools: new Map(), complete: false };
      this.servers.set(server, entry);
    }
    for (const t of tools) {
      if (typeof t.name !== "string") continue;
      const decls = paramDeclarations(t.inputSchema);
      entry.tools.set(t.name, decls.length === 0 ? NONE : decls);
    }
    if (complete) entry.complete = true;
  }

  /** The server's tool list changed: learn it again on the next need. */
  forget(server: string): void {
    this.servers.delete(server);
  }

  /** The declarations cached for one tool (none when it is not cached). */
  cached(server: string, generation: number, tool: string): readonly ParamDeclaration[] {
    return this.current(server, generation)?.tools.get(tool) ?? NONE;
  }

  private current(server: string, generation: number): ServerTools | undefined {
    const entry = this.servers.get(server);
    return entry?.generation === generation ? entry : undefined;
  }

  /**
   * The declarations of one tool; on a miss, reads the server's whole listing once (`load`,
   * shared by concurrent callers). A tool the complete listing does not name has none: the call
   * then goes on to the usual unknown-tool answer.
   */
  async lookup(
    server: string,
    generation: number,
    tool: string,
    load: () => Promise<ReadonlyArray<Record<string, unknown>>>,
  ): Promise<readonly ParamDeclaration[]> {
    const hit = this.current(server, generation);
    const known = hit?.tools.get(tool);
    if (known) return known;
    if (hit?.complete) return NONE;
    const loadKey = `${server}\u0000${generation}`;
    let pending = this.loading.get(loadKey);
    if (!pending) {
      pending = load()
        .then((tools) => {
          // A listing from before a restart that finished late does not replace a newer one.
          if ((this.servers.get(server)?.generation ?? generation) > generation) return;
          this.servers.delete(server);
          this.learn(server, generation, tools, true);
        })
        .finally(() => this.loading.delete(loadKey));
      this.loading.set(loadKey, pending);
    }
    await pending;
    return this.cached(server, generation, tool);
  }
}
