// Runs the ordered governance stages around one call: before hooks in order, execute,
// after hooks in reverse. A refusal anywhere becomes a JSON-RPC error naming the stage.
import { ErrorCodes, RpcError } from "../upstream/jsonrpc.js";
import {
  type CallContext,
  type ListContext,
  type Stage,
  StageRefusal,
  type ToolDescriptor,
} from "./types.js";

interface MethodHooks {
  befores: Stage[];
  afters: Stage[];
  /** Some hook run for this method reads ctx.params. */
  readsParams: boolean;
  /** Some after hook run for this method reads more of ctx.result than its isError flag. */
  readsResult: boolean;
}

export class Pipeline {
  private readonly befores: Stage[];
  private readonly afters: Stage[];
  private readonly filters: Stage[];
  /** Hooks that apply to each method seen so far (per StageReads.methods). */
  private readonly byMethod = new Map<string, MethodHooks>();

  constructor(readonly stages: readonly Stage[]) {
    const names = new Set<string>();
    for (const s of stages) {
      if (names.has(s.name)) throw new Error(`duplicate pipeline stage '${s.name}'`);
      names.add(s.name);
    }
    this.befores = stages.filter((s) => s.before);
    this.afters = stages.filter((s) => s.after).reverse();
    this.filters = stages.filter((s) => s.filterTools);
  }

  /**
   * Runs the call through the stages. After hooks run even when a stage refused or the
   * downstream failed (ctx.error says what happened) so audit/metrics see every outcome.
   * Never throws: every failure is the returned promise's rejection (an RpcError).
   *
   * Not an async function: hooks that return nothing run synchronously, and the execute
   * promise's settlement continues straight into the after hooks and the final value, so a call
   * whose hooks are synchronous costs one promise reaction here (an async function would add
   * its own promise and resumption per await).
   */
  run(ctx: CallContext, execute: (ctx: CallContext) => Promise<unknown>): Promise<unknown> {
    const hooks = this.hooksFor(ctx.method);
    const { befores } = hooks;
    for (let i = 0; i < befores.length; i++) {
      const s = befores[i];
      let r: void | Promise<void>;
      try {
        r = s.before?.(ctx);
      } catch (err) {
        return this.refused(ctx, hooks, err, s.name);
      }
      if (r) return this.runAsync(ctx, execute, hooks, i, r);
    }
    return this.execute(ctx, execute, hooks);
  }

  /** The rest of run() once a before hook returned a promise (`i`: its index). */
  private async runAsync(
    ctx: CallContext,
    execute: (ctx: CallContext) => Promise<unknown>,
    hooks: MethodHooks,
    i: number,
    pending: Promise<void>,
  ): Promise<unknown> {
    const { befores } = hooks;
    let at = befores[i].name;
    try {
      await pending;
      for (i++; i < befores.length; i++) {
        at = befores[i].name;
        const r = befores[i].before?.(ctx);
        if (r) await r;
      }
    } catch (err) {
      return this.refused(ctx, hooks, err, at);
    }
    return this.execute(ctx, execute, hooks);
  }

  /** A before hook threw or rejected: the after hooks run, then the call fails. */
  private refused(ctx: CallContext, hooks: MethodHooks, err: unknown, at: string): Promise<unknown> {
    ctx.error = describe(err, err instanceof StageRefusal ? err.stage : at);
    try {
      const out = this.afterHooks(ctx, hooks.afters, 0);
      return out instanceof Promise ? out : Promise.resolve(out);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private execute(
    ctx: CallContext,
    execute: (ctx: CallContext) => Promise<unknown>,
    hooks: MethodHooks,
  ): Promise<unknown> {
    let answer: Promise<unknown>;
    try {
      answer = execute(ctx);
    } catch (err) {
      answer = Promise.reject(err);
    }
    return answer.then(
      (result) => {
        ctx.result = result;
        return this.afterHooks(ctx, hooks.afters, 0);
      },
      (err: unknown) => {
        ctx.error = describe(err, err instanceof StageRefusal ? err.stage : undefined);
        return this.afterHooks(ctx, hooks.afters, 0);
      },
    );
  }

  /**
   * The after hooks from index `i` on, in order; synchronously while they return nothing.
   * Returns ctx.result or throws the call's error (or a promise of either once a hook is async).
   */
  private afterHooks(ctx: CallContext, afters: Stage[], i: number): unknown {
    for (; i < afters.length; i++) {
      const s = afters[i];
      let r: void | Promise<void>;
      try {
        r = s.after?.(ctx);
      } catch (err) {
        ctx.error = describe(err, s.name);
        continue;
      }
      if (r && typeof r.then === "function") {
        const next = i + 1;
        return r.then(
          () => this.afterHooks(ctx, afters, next),
          (err: unknown) => {
            ctx.error = describe(err, s.name);
            return this.afterHooks(ctx, afters, next);
          },
        );
      }
    }
    if (ctx.error) throw new RpcError(ctx.error.code, ctx.error.message, ctx.error.data);
    return ctx.result;
  }

  /** Whether any hook that runs for `method` reads ctx.params (false: the request may travel as bytes). */
  readsParams(method: string): boolean {
    return this.hooksFor(method).readsParams;
  }

  private hooksFor(method: string): MethodHooks {
    let hooks = this.byMethod.get(method);
    if (!hooks) {
      const applies = (s: Stage) => !s.reads?.methods || s.reads.methods.includes(method);
      const befores = this.befores.filter(applies);
      const afters = this.afters.filter(applies);
      hooks = {
        befores,
        afters,
        readsParams: [...befores, ...afters].some((s) => s.reads?.params !== false),
        readsResult: afters.some((s) => s.reads?.result !== false && s.reads?.result !== "isError"),
      };
      this.byMethod.set(method, hooks);
    }
    return hooks;
  }

  /** No stage looks at results: they may be forwarded as raw bytes. */
  get hasAfterHooks(): boolean {
    return this.afters.length > 0;
  }

  /**
   * Whether answers to `method` may stay bytes: no after hook run for it reads more of ctx.result
   * than its top-level isError (StageReads.result), which a RawResult answers from its bytes.
   */
  forwardsRawResults(method: string): boolean {
    return !this.hooksFor(method).readsResult;
  }

  async filterTools(ctx: ListContext, tools: ToolDescriptor[]): Promise<ToolDescriptor[]> {
    let out = tools;
    for (const s of this.filters) {
      try {
        const r = s.filterTools?.(ctx, out);
        out = r instanceof Promise ? await r : (r as ToolDescriptor[]);
      } catch (err) {
        const e = describe(err, s.name);
        throw new RpcError(e.code, e.message, e.data);
      }
    }
    return out;
  }
}

/** Maps anything thrown in the pipeline to the error the client receives. */
function describe(err: unknown, stage: string | undefined): NonNullable<CallContext["error"]> {
  if (err instanceof StageRefusal) {
    return {
      code: err.code,
      message: `refused by ${err.stage}: ${err.message}`,
      stage: err.stage,
      data: { stage: err.stage, ...err.data },
    };
  }
  if (err instanceof RpcError) return { code: err.code, message: err.message, data: err.data };
  const message = err instanceof Error ? err.message : String(err);
  return stage
    ? {
        code: ErrorCodes.InternalError,
        message: `stage '${stage}' failed: ${message}`,
        stage,
        data: { stage },
      }
    : { code: ErrorCodes.InternalError, message };
}
