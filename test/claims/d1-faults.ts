/**
 * A D1 binding that fails on purpose, and counts round trips: wraps the real one and throws from
 * `batch` when `shouldFail` says so for the batch's SQL texts (each statement's SQL is kept as it is
 * prepared and bound). `beforeBatch` runs once before the first batch (e.g. to let a concurrent
 * request win a race). `trips` counts batches and single statements run outside a batch.
 */
export function faultyD1(
  real: D1Database,
  opts: { shouldFail?: (sqls: string[], call: number) => boolean; beforeBatch?: () => Promise<void> } = {},
): D1Database & { failures: number; trips: { batches: number; statements: number } } {
  const sqlOf = new WeakMap<object, string>();
  let calls = 0;
  let before = opts.beforeBatch;
  const trips = { batches: 0, statements: 0 };
  const wrap = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement => {
    sqlOf.set(stmt, sql);
    const bind = stmt.bind.bind(stmt);
    (stmt as { bind: D1PreparedStatement["bind"] }).bind = (...values: unknown[]) => wrap(bind(...values), sql);
    for (const m of ["first", "all", "run", "raw"] as const) {
      const f = (stmt[m] as (...a: unknown[]) => unknown).bind(stmt);
      (stmt as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
        trips.statements++;
        return f(...a);
      };
    }
    return stmt;
  };
  const state = { failures: 0 };
  return new Proxy(real, {
    get(target, key) {
      if (key === "failures") return state.failures;
      if (key === "trips") return trips;
      if (key === "prepare") return (sql: string) => wrap(target.prepare(sql), sql);
      if (key === "batch") {
        return async (stmts: D1PreparedStatement[]) => {
          if (before) {
            const run = before;
            before = undefined;
            await run();
          }
          const call = ++calls;
          trips.batches++;
          if (
            opts.shouldFail?.(
              stmts.map((s) => sqlOf.get(s) ?? ""),
              call,
            )
          ) {
            state.failures++;
            throw new Error("D1_ERROR: injected failure");
          }
          return target.batch(stmts);
        };
      }
      const v = (target as unknown as Record<string | symbol, unknown>)[key];
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as D1Database & { failures: number; trips: { batches: number; statements: number } };
}
