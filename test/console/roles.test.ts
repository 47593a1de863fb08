import { beforeAll, describe, expect, it } from "vitest";
import { and, eq } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { createClient } from "../helpers/gateway";
import { auditLog } from "../../src/storage/schema/audit-log";
import { claims } from "../../src/storage/schema/claims";
import { clients } from "../../src/storage/schema/clients";
import { deadLetters } from "../../src/storage/schema/dead-letters";
import { alerts } from "../../src/storage/schema/alerts";
import { ACTIONS, type ConsoleAction, type ConsoleRole } from "../../src/console/roles";
import { GATEWAY, accessEnv, assertionFor, browseAs, csrfOf, db, seedDeadLetter, seedFailedClaim, type Page } from "./helpers";

const A = accessEnv();
const RANK: Record<ConsoleRole, number> = { viewer: 0, operator: 1, admin: 2 };

/** Someone signed in to the console, as each kind of principal can be. */
interface Actor {
  label: string;
  role: ConsoleRole;
  get(path: string): Promise<Page>;
  post(path: string, form?: Record<string, string>): Promise<Page>;
}

async function person(email: string, role: ConsoleRole): Promise<Actor> {
  const token = await assertionFor(email);
  const csrf = csrfOf((await browseAs(A, token, "GET", "/console/audit")).text);
  return {
    label: `${role} person`,
    role,
    get: (path) => browseAs(A, token, "GET", path),
    post: (path, form = {}) => browseAs(A, token, "POST", path, { form: { _csrf: csrf, ...form } }),
  };
}

/** Without Access: the admin key is the admin role, an operator client (scope ops) the operator role. */
async function keyHolder(label: string, role: ConsoleRole, form: Record<string, string>): Promise<Actor> {
  const e = { ...env } as typeof env;
  const signIn = await browseAs(e, null, "POST", "/console/sign-in", { form, origin: GATEWAY });
  const cookie = /^(amrit_console=[^;]+)/.exec(signIn.headers.get("set-cookie") ?? "")?.[1];
  if (!cookie) throw new Error(`${label}: sign-in failed (${signIn.status})`);
  const csrf = csrfOf((await browseAs(e, null, "GET", "/console/audit", { cookie })).text);
  return {
    label,
    role,
    get: (path) => browseAs(e, null, "GET", path, { cookie }),
    post: (path, form = {}) => browseAs(e, null, "POST", path, { cookie, form: { _csrf: csrf, ...form } }),
  };
}

const claimStatus = async (id: string) => (await db().select({ s: claims.status }).from(claims).where(eq(claims.id, id)).get())!.s;
const auditCount = async (action: string, targetId: string) =>
  (
    await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, action), eq(auditLog.targetId, targetId)))
      .all()
  ).length;

/**
 * Each action: a fresh subject, the form post, and what the post must have left untouched when it is
 * refused (a refused post changes nothing). `done` says the action went through for an allowed role.
 */
const CASES: Record<
  ConsoleAction,
  () => Promise<{ path: string; form: Record<string, string>; unchanged: () => Promise<void>; done?: (res: Page) => Promise<void> }>
> = {
  "dead_letter.replay": async () => {
    const claimId = await seedFailedClaim();
    const id = await seedDeadLetter({ type: "deliver", claimId, dispatchId: "x" });
    const row = () => db().select().from(deadLetters).where(eq(deadLetters.id, id)).get();
    return {
      path: `/console/dead-letters/${encodeURIComponent(id)}/replay`,
      form: { confirm: "yes" },
      unchanged: async () => {
        expect((await row())!.replayCount).toBe(0);
        expect(await claimStatus(claimId)).toBe("FAILED");
      },
      done: async (res) => {
        expect(res.text).toContain("Replayed: claim");
        expect((await row())!.replayCount).toBe(1);
      },
    };
  },
  "claim.refresh": async () => {
    const claimId = await seedFailedClaim();
    await db().update(claims).set({ status: "PENDING", failureCode: null, errors: [] }).where(eq(claims.id, claimId)).run();
    return {
      path: `/console/claims/${claimId}/refresh`,
      form: {},
      unchanged: async () => {
        expect(await claimStatus(claimId)).toBe("PENDING");
        expect(await auditCount("claim.refresh", claimId)).toBe(0);
      },
    };
  },
  "claim.replay": async () => {
    const claimId = await seedFailedClaim();
    return {
      path: `/console/claims/${claimId}/replay`,
      form: { confirm: "yes" },
      unchanged: async () => expect(await claimStatus(claimId)).toBe("FAILED"),
      done: async () => expect(await claimStatus(claimId)).not.toBe("FAILED"),
    };
  },
  "claim.resolve": async () => {
    const claimId = await seedFailedClaim();
    return {
      path: `/console/claims/${claimId}/resolve`,
      form: { resolution: "not_recorded", reason: "portal helpdesk ticket 42" },
      unchanged: async () => expect(await auditCount("claim.resolve", claimId)).toBe(0),
      done: async () => expect(await auditCount("claim.resolve", claimId)).toBe(1),
    };
  },
  "payment.status": async () => {
    const piId = `pi-none-${crypto.randomUUID()}`;
    return {
      path: `/console/payments/${piId}/status`,
      form: { status: "FAILED", reason: "IFMS confirms not paid" },
      unchanged: async () => expect(await auditCount("funds.pi_status_override", piId)).toBe(0),
    };
  },
  "alert.test": async () => {
    const count = async () => (await db().select().from(alerts).where(eq(alerts.kind, "test")).all()).length;
    const before = await count();
    return { path: "/console/alerts/test", form: {}, unchanged: async () => expect(await count()).toBe(before) };
  },
  "client.create": async () => {
    const name = `made-by-role-test-${crypto.randomUUID()}`;
    const made = async () => (await db().select().from(clients).where(eq(clients.name, name)).all()).length;
    return {
      path: "/console/clients",
      form: { name, scopes: "claims:read", tenants: "" },
      unchanged: async () => expect(await made()).toBe(0),
      done: async (res) => {
        expect(await made()).toBe(1);
        expect(res.text).toContain("shown once");
      },
    };
  },
  "client.rotate": async () => {
    const c = await createClient(["claims:read"], "rotate target");
    const gen = async () => (await db().select().from(clients).where(eq(clients.id, c.clientId)).get())!.generation;
    return {
      path: `/console/clients/${c.clientId}/rotate`,
      form: {},
      unchanged: async () => expect(await gen()).toBe(1),
      done: async (res) => {
        expect(await gen()).toBe(2);
        expect(res.text).toContain(c.clientId);
        expect(res.text).toMatch(/class="secret">cs_/);
      },
    };
  },
  "client.revoke": async () => {
    const c = await createClient(["claims:read"], "revoke target");
    const revoked = async () => (await db().select().from(clients).where(eq(clients.id, c.clientId)).get())!.revokedAt;
    return {
      path: `/console/clients/${c.clientId}/revoke`,
      form: { confirm: "yes" },
      unchanged: async () => expect(await revoked()).toBeNull(),
      done: async () => expect(await revoked()).not.toBeNull(),
    };
  },
  "client.update": async () => {
    const c = await createClient(["claims:read"], "update target");
    const scopes = async () => (await db().select().from(clients).where(eq(clients.id, c.clientId)).get())!.scopes;
    return {
      path: `/console/clients/${c.clientId}/update`,
      form: { scopes: "claims:write", tenants: "pb.jalandhar" },
      unchanged: async () => expect(await scopes()).toEqual(["claims:read"]),
      done: async () => expect(await scopes()).toEqual(["claims:write"]),
    };
  },
};

describe("console roles: each role against each action", () => {
  let actors: Actor[];
  beforeAll(async () => {
    // funds:write too: without it the funds rules themselves refuse an ops client a PI status (issue
    // 10 item 5, test/funds/console-ops.test.ts), and this test is about what the role allows.
    const ops = await createClient(["ops", "funds:write"], "role-test operator client");
    actors = [
      await person("viewer@amrit.test", "viewer"),
      await person("operator@amrit.test", "operator"),
      await person("admin@amrit.test", "admin"),
      await keyHolder("admin key", "admin", { key: env.ADMIN_API_KEY! }),
      await keyHolder("ops client", "operator", { key: ops.apiKey }),
    ];
  });

  it("every action names the least role that may take it", () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(ACTIONS).sort());
  });

  for (const action of Object.keys(ACTIONS) as ConsoleAction[]) {
    it(`${action} (needs ${ACTIONS[action]}): a post beyond the role is 403 and changes nothing`, async () => {
      for (const actor of actors) {
        const c = await CASES[action]();
        const res = await actor.post(c.path, c.form);
        const allowed = RANK[actor.role] >= RANK[ACTIONS[action]];
        if (!allowed) {
          expect(res.status, `${actor.label} → ${action}`).toBe(403);
          expect(res.text).toContain(`your role (${actor.role}) may not do this`);
          await c.unchanged();
        } else {
          expect(res.status, `${actor.label} → ${action}: ${res.text.slice(0, 300)}`).not.toBe(403);
          await c.done?.(res);
        }
      }
    });
  }

  it("pages offer only the forms the role may post", async () => {
    const claimId = await seedFailedClaim();
    const dl = await seedDeadLetter({ type: "deliver", claimId, dispatchId: "x" });
    const checks: { path: string; form: RegExp; needs: ConsoleRole }[] = [
      { path: `/console/dead-letters/${encodeURIComponent(dl)}`, form: /action="\/console\/dead-letters\/[^"]+\/replay"/, needs: "operator" },
      { path: `/console/dead-letters?subjectId=${claimId}`, form: /action="\/console\/dead-letters\/replay"/, needs: "operator" },
      { path: `/console/claims/${claimId}`, form: new RegExp(`action="/console/claims/${claimId}/(replay|resolve)"`), needs: "operator" },
      { path: "/console/alerts", form: /action="\/console\/alerts\/test"/, needs: "operator" },
      { path: "/console/clients", form: /action="\/console\/clients"/, needs: "admin" },
      { path: "/console/clients", form: /action="\/console\/clients\/[^"]+\/rotate"/, needs: "admin" },
    ];
    await createClient(["claims:read"], "a client to manage");
    for (const actor of actors) {
      for (const ch of checks) {
        const res = await actor.get(ch.path);
        expect(res.status, `${actor.label} ${ch.path}`).toBe(200);
        const offered = ch.form.test(res.text);
        expect(offered, `${actor.label} sees ${ch.form} on ${ch.path}`).toBe(RANK[actor.role] >= RANK[ch.needs]);
        if (!offered) expect(res.text, `${actor.label} ${ch.path}`).toContain(`Your role (${actor.role}) can read this but not change it`);
      }
    }
  });
});
