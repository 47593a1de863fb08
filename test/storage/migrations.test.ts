import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { applyD1Migrations } from "cloudflare:test";

describe("D1 migrations", () => {
  it("apply from empty and again without change", async () => {
    const tables = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all<{ name: string }>();
    const names = tables.results.map((t) => t.name);
    for (const t of ["clients", "audit_log", "dead_letters", "upstream_calls"]) expect(names).toContain(t);
    const applied = await env.DB.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>();
    expect(applied.results.map((r) => r.name)).toEqual(env.TEST_MIGRATIONS.map((m) => m.name));
    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
    const again = await env.DB.prepare("SELECT count(*) AS n FROM d1_migrations").first<{ n: number }>();
    expect(again!.n).toBe(env.TEST_MIGRATIONS.length);
  });
});
