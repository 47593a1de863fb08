import type { Hono } from "hono";
import { z } from "zod";
import { GatewayError } from "../../errors";
import { actorOf } from "../../http/context";
import { TENANT } from "../../http/routes/admin";
import { SCOPES, type Scope } from "../../domain/security/scopes";
import { createClient, listClients, revokeClient, rotateClient, updateClient } from "../../domain/clients";
import { ClientsPage } from "../pages/clients";
import { ClientCredentialsPage } from "../pages/client-credentials";
import { allow, multi, protectedForm } from "../form";
import { page, type C } from "../render";
import type { ConsoleEnv } from "../session";

/** The admin API's rules for a client (POST/PATCH /v1/admin/clients), read from a web form. */
const ClientForm = z.strictObject({
  name: z.string().trim().min(1, "a name is required").max(120),
  scopes: z.array(z.enum(SCOPES)).min(1, "tick at least one scope").max(SCOPES.length),
  tenants: z.array(z.string().regex(TENANT, "a tenant id (e.g. pb.jalandhar) or *")).max(500),
});
const tenantsOf = (text: string | undefined) => [...new Set((text ?? "").split(/[\s,]+/).filter(Boolean))];
const problems = (e: z.ZodError) => e.issues.map((i) => `${String(i.path[0] ?? "form")}: ${i.message}`).join("; ");

export function registerClients(app: Hono<ConsoleEnv>) {
  const clientsPage = async (
    c: C,
    flash: { ok?: string; error?: string } = {},
    status: 200 | 400 | 404 | 409 = 200,
    draft?: { name: string; scopes: string[]; tenants: string[] },
  ) => {
    const items = await listClients(c.get("services").db);
    const s = c.get("session")!;
    return page(c, "Clients", "/console/clients", <ClientsPage items={items} csrf={s.csrf} role={s.role} draft={draft} {...flash} />, status);
  };

  app.get("/clients", (c) => clientsPage(c));

  app.post("/clients", allow("client.create"), async (c) => {
    const form = await protectedForm(c);
    const input = { name: form.name ?? "", scopes: multi(form, "scopes"), tenants: tenantsOf(form.tenants) };
    const parsed = ClientForm.safeParse(input);
    if (!parsed.success) return clientsPage(c, { error: `Not created: ${problems(parsed.error)}` }, 400, input);
    const creds = await createClient(
      c.get("services").db,
      { name: parsed.data.name, scopes: parsed.data.scopes as Scope[], tenants: parsed.data.tenants },
      actorOf(c.get("principal")),
      c.get("requestId"),
    );
    return page(c, `Client ${parsed.data.name} created`, "/console/clients", <ClientCredentialsPage creds={creds} what="created" />, 200);
  });

  app.post("/clients/:clientId/rotate", allow("client.rotate"), async (c) => {
    await protectedForm(c);
    const r = await rotateClient(c.get("services").db, c.req.param("clientId"), actorOf(c.get("principal")), c.get("requestId"));
    if (!r.ok) {
      if (r.reason === "not_found") return clientsPage(c, { error: "Not rotated: no such client (or it is revoked)." }, 404);
      return clientsPage(
        c,
        { error: "Not rotated: another rotation of this client won at the same moment. Rotate again if you still need new credentials." },
        409,
      );
    }
    return page(c, "Credentials rotated", "/console/clients", <ClientCredentialsPage creds={r.value} what="rotated" />);
  });

  app.post("/clients/:clientId/revoke", allow("client.revoke"), async (c) => {
    const form = await protectedForm(c);
    if (form.confirm !== "yes") return clientsPage(c, { error: "Tick the confirmation box to revoke." }, 400);
    const v = await revokeClient(c.get("services").db, c.req.param("clientId"), actorOf(c.get("principal")), c.get("requestId"));
    if (!v) throw new GatewayError("NOT_FOUND", "no such client");
    return clientsPage(c, { ok: `${v.name} (${v.clientId}) is revoked: its key and tokens no longer work.` });
  });

  app.post("/clients/:clientId/update", allow("client.update"), async (c) => {
    const form = await protectedForm(c);
    const parsed = ClientForm.omit({ name: true }).safeParse({ scopes: multi(form, "scopes"), tenants: tenantsOf(form.tenants) });
    if (!parsed.success) return clientsPage(c, { error: `Not changed: ${problems(parsed.error)}` }, 400);
    const v = await updateClient(
      c.get("services").db,
      c.req.param("clientId"),
      { scopes: parsed.data.scopes as Scope[], tenants: parsed.data.tenants },
      actorOf(c.get("principal")),
      c.get("requestId"),
    );
    if (!v) throw new GatewayError("NOT_FOUND", "no such client");
    return clientsPage(c, { ok: `${v.name}: scopes ${v.scopes.join(", ")}; tenants ${v.tenants.join(", ") || "none"}.` });
  });
}
