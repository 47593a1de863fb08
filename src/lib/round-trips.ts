/**
 * Counts, for one request, the round trips it makes to D1, Durable Objects, KV, Queues and the rate
 * limiter before its response, and how many of them were sequential. A measuring instrument for
 * the benchmark (TRACE_ROUND_TRIPS=1), never on in a deployment: the bindings are wrapped per
 * request, which also defeats the per-env caches, so latency figures are not taken with it.
 *
 * "Sequential" = the number of disjoint time intervals the calls cover: two calls in flight at the
 * same time (Promise.all) count once, one after the other twice.
 */
export type BindingKind = "d1" | "do" | "kv" | "queue" | "ratelimit";

interface Span {
  kind: BindingKind;
  start: number;
  end: number;
}

export class RoundTripTrace {
  private readonly spans: Span[] = [];
  private closed = false;

  async time<T>(kind: BindingKind, work: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      // Calls still running when the response is ready (waitUntil work) are not on its path.
      if (!this.closed) this.spans.push({ kind, start, end: performance.now() });
    }
  }

  /** Stops recording; what came before is the request's path. */
  close() {
    this.closed = true;
  }

  /** `total=…;d1=…;do=…;kv=…;queue=…;ratelimit=…;calls=…` */
  summary(): string {
    const groups = (spans: Span[]) => {
      const sorted = [...spans].sort((a, b) => a.start - b.start);
      let n = 0;
      let end = -Infinity;
      for (const s of sorted) {
        if (s.start >= end) n++;
        end = Math.max(end, s.end);
      }
      return n;
    };
    const kinds: BindingKind[] = ["d1", "do", "kv", "queue", "ratelimit"];
    return [
      `total=${groups(this.spans)}`,
      ...kinds.map((k) => `${k}=${groups(this.spans.filter((s) => s.kind === k))}`),
      `calls=${this.spans.length}`,
    ].join(";");
  }
}

const isFn = (v: unknown): v is (...a: unknown[]) => unknown => typeof v === "function";

/** Wraps every method call of `target` whose name is in `methods` (or every method, when null). */
function timed<T extends object>(
  target: T,
  kind: BindingKind,
  trace: RoundTripTrace,
  methods: string[] | null,
  wrapResult?: (name: string, value: unknown) => unknown,
): T {
  return new Proxy(target, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t);
      if (typeof prop !== "string" || !isFn(v)) return v;
      // Called as t[prop](…): an RPC stub's methods are not ordinary functions (no .bind/.apply).
      const invoke = (a: unknown[]) => (t as Record<string, (...x: unknown[]) => unknown>)[prop](...a);
      if (methods && !methods.includes(prop)) return (...a: unknown[]) => (wrapResult ? wrapResult(prop, invoke(a)) : invoke(a));
      return (...a: unknown[]) => trace.time(kind, async () => invoke(a) as Promise<unknown>);
    },
  });
}

// D1 statements must reach batch() as the runtime's own objects: proxies are unwrapped there.
const realStatement = new WeakMap<object, D1PreparedStatement>();

function d1Statement(stmt: D1PreparedStatement, trace: RoundTripTrace): D1PreparedStatement {
  const proxy = timed(stmt, "d1", trace, ["first", "all", "run", "raw"], (name, value) =>
    name === "bind" ? d1Statement(value as D1PreparedStatement, trace) : value,
  );
  realStatement.set(proxy, stmt);
  return proxy;
}

function d1<T extends D1Database | D1DatabaseSession>(db: T, trace: RoundTripTrace): T {
  return new Proxy(db, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t);
      if (!isFn(v)) return v;
      if (prop === "prepare") return (sql: string) => d1Statement((t as D1Database).prepare(sql), trace);
      if (prop === "batch") {
        return (stmts: D1PreparedStatement[]) => trace.time("d1", () => (t as D1Database).batch(stmts.map((s) => realStatement.get(s) ?? s)));
      }
      if (prop === "withSession") return (...a: unknown[]) => d1((v as (...x: unknown[]) => D1DatabaseSession).apply(t, a), trace);
      if (prop === "exec" || prop === "dump")
        return (...a: unknown[]) => trace.time("d1", async () => (v as (...x: unknown[]) => Promise<unknown>).apply(t, a));
      return (v as (...x: unknown[]) => unknown).bind(t);
    },
  }) as T;
}

function durableObjects(ns: DurableObjectNamespace, trace: RoundTripTrace): DurableObjectNamespace {
  return new Proxy(ns, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t);
      if (!isFn(v)) return v;
      if (prop === "get" || prop === "getByName") {
        return (...a: unknown[]) => timed((v as (...x: unknown[]) => DurableObjectStub).apply(t, a) as object, "do", trace, null);
      }
      return (v as (...x: unknown[]) => unknown).bind(t);
    },
  });
}

/** Per binding kind: how to recognise it and how to wrap it. */
function wrapBinding(value: unknown, trace: RoundTripTrace): unknown {
  if (!value || typeof value !== "object") return value;
  const o = value as Record<string, unknown>;
  if (isFn(o.prepare) && isFn(o.batch)) return d1(value as D1Database, trace);
  if (isFn(o.idFromName) && isFn(o.get)) return durableObjects(value as DurableObjectNamespace, trace);
  if (isFn(o.sendBatch) && isFn(o.send)) return timed(value as object, "queue", trace, ["send", "sendBatch"]);
  if (isFn(o.getWithMetadata) && isFn(o.put)) return timed(value as object, "kv", trace, ["get", "getWithMetadata", "put", "delete", "list"]);
  if (isFn(o.limit)) return timed(value as object, "ratelimit", trace, ["limit"]);
  return value;
}

/** The env with every binding counted into `trace`. */
export function tracedEnv<E extends object>(env: E, trace: RoundTripTrace): E {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(env)) out[k] = wrapBinding(v, trace);
  return out as E;
}
