// The x-mcp-header declarations of downstream tools, learned from their tools/list answers, so a
// 2026-07-28 tools/call can be checked against its Mcp-Param-* headers without listing per call.
// Keyed by server and downstream tool name; a server's entries go when it says its list changed.
import { type ParamDeclaration, paramDeclarations } from "./param-headers.js";

const NONE: readonly ParamDeclaration[] = Object.freeze([]);

interface ServerTools {
  tools: Map<string, readonly ParamDeclaration[]>;
  /** A full listing was read: a tool not in `tools` does not exist (yet). */
  complete: boolean;
}

export class ToolParamCache {
  private readonly servers = new Map<string, ServerTools>();
  private readonly loading = new Map<string, Promise<void>>();

  /** Records the tools of one listing page (the downstream's own definitions). */
  learn(server: string, tools: ReadonlyArray<Record<string, unknown>>, complete = false): void {
    let entry = this.servers.get(server);
    if (!entry) {
      entry = { tools: new Map(), complete: false };
      this.servers.set(server, entry);
    }
    for (const t of tools) {
      if (typeof t.name !== "string") continue;
      const decls = paramDeclarations(t.inputSchema);
      entry.tools.set(t.name, decls.length === 0 ? NONE : decls);
    }
    if (complete) entry.complete = true;
  }

  /** The server's tool list changed (or it restarted): learn it again on the next need. */
  forget(server: string): void {
    this.servers.delete(server);
  }

  /** The declarations cached for one tool (none when it is not cached). */
  cached(server: string, tool: string): readonly ParamDeclaration[] {
    return this.servers.get(server)?.tools.get(tool) ?? NONE;
  }

  /**
   * The declarations of one tool; on a miss, reads the server's whole listing once (`load`,
   * shared by concurrent callers). A tool the complete listing does not name has none: the call
   * then goes on to the usual unknown-tool answer.
   */
  async lookup(
    server: string,
    tool: string,
    load: () => Promise<ReadonlyArray<Record<string, unknown>>>,
  ): Promise<readonly ParamDeclaration[]> {
    const hit = this.servers.get(server);
    const known = hit?.tools.get(tool);
    if (known) return known;
    if (hit?.complete) return NONE;
    let pending = this.loading.get(server);
    if (!pending) {
      pending = load()
        .then((tools) => {
          this.servers.delete(server);
          this.learn(server, tools, true);
        })
        .finally(() => this.loading.delete(server));
      this.loading.set(server, pending);
    }
    await pending;
    return this.servers.get(server)?.tools.get(tool) ?? NONE;
  }
}
