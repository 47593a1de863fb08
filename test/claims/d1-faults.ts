/**
 * A D1 binding that fails on purpose: wraps the real one and throws from `batch` when `shouldFail`
 * says so for the batch's SQL texts (each statement's SQL is kept as it is prepared and bound).
 * `beforeBatch` runs once before the first batch (e.g. to let a concurrent request win a race).
 */
export function faultyD1(
  real: D1Database,
  opts: { shouldFail?: (sqls: string[], call: number) => boolean; beforeBatch?: () => Promise<void> } = {},
): D1Database & { failures: number } {
  const sqlOf = new WeakMap<object, string>();
  let calls = 0;
  let before = opts.beforeBatch;
  const wrap = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement => {
    sqlOf.set(stmt, sql);
    const bind = stmt.bind.bind(stmt);
    (stmt as { bind: D1PreparedStatement["bind"] }).bind = (...values: unknown[]) => wrap(bind(...values), sql);
    return stmt;
  };
  const state = { failures: 0 };
  return new Proxy(real, {
    get(target, key) {
      if (key === "failures") return state.failures;
      if (key === "prepare") return (sql: string) => wrap(target.prepare(sql), sql);
      if (key === "batch") {
        return async (stmts: D1PreparedStatement[]) => {
          if (before) {
            const run = before;
            before = undefined;
            await run();
          }
          const call = ++calls;
          if (opts.shouldFail?.(stmts.map((s) => sqlOf.get(s) ?? ""), call)) {
            state.failures++;
            throw new Error("D1_ERROR: injected failure");
          }
          return target.batch(stmts);
        };
      }
      const v = (target as unknown as Record<string | symbol, unknown>)[key];
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as D1Database & { failures: number };
}
