import type { Hono } from "hono";
import { GatewayError, statusOf } from "../../http/errors";
import { actorOf } from "../../http/context";
import { claimDetail, findById, fiscalMessageDetail, requestDetail } from "../ops/find";
import { refreshClaim, resolveAmbiguousClaim, RESOLUTIONS, type ClaimResolution } from "../ops/claim-actions";
import { replayClaim } from "../ops/replayers";
import { FindPage } from "../pages/find";
import { ClaimPage } from "../pages/claim";
import { FiscalMessagePage } from "../pages/fiscal-message";
import { RequestPage } from "../pages/request";
import { allow, protectedForm } from "../form";
import { page, type C, type PageStatus } from "../render";
import type { ConsoleEnv } from "../session";

/** Find anything by id, and the detail page of each kind of record (payment instructions: routes/payments). */
export function registerRecords(app: Hono<ConsoleEnv>) {
  app.get("/find", async (c) => {
    const q = (c.req.query("q") ?? "").trim().slice(0, 200);
    const found = q ? await findById(c.get("services").db, q) : [];
    // One match: straight to it (the header's search box is the common way in).
    if (found.length === 1) return c.redirect(found[0].href, 303);
    return page(c, q ? `Find: ${q}` : "Find", "/console/find", <FindPage q={q} found={found} />, q && !found.length ? 404 : 200);
  });

  const claimPage = async (c: C, id: string, flash: { ok?: string; error?: string } = {}, status: PageStatus = 200) => {
    const d = await claimDetail(c.get("services").db, id);
    if (!d) throw new GatewayError("NOT_FOUND", "no such claim");
    const s = c.get("session")!;
    return page(c, `Claim ${d.claim.id}`, "/console/find", <ClaimPage d={d} csrf={s.csrf} role={s.role} {...flash} />, status);
  };

  /** A refused action shows the claim again with the reason; anything else is an error page. */
  const act = async (c: C, id: string, run: () => Promise<string>) => {
    try {
      return claimPage(c, id, { ok: await run() });
    } catch (err) {
      if (err instanceof GatewayError && [400, 409, 422, 502, 503, 504].includes(statusOf(err))) {
        return claimPage(c, id, { error: `Not done: ${err.message}` }, (statusOf(err) === 504 ? 502 : statusOf(err)) as PageStatus);
      }
      throw err;
    }
  };

  app.get("/claims/:id", (c) => claimPage(c, c.req.param("id")));

  app.post("/claims/:id/refresh", allow("claim.refresh"), async (c) => {
    await protectedForm(c);
    const id = c.req.param("id");
    return act(c, id, async () => {
      const r = await refreshClaim(c.env, c.get("services").db, id, actorOf(c.get("principal")), c.get("requestId"));
      return r.before === r.after ? `Asked the portal: still ${r.after}.` : `Asked the portal: ${r.before} → ${r.after}.`;
    });
  });

  app.post("/claims/:id/replay", allow("claim.replay"), async (c) => {
    const form = await protectedForm(c);
    const id = c.req.param("id");
    if (form.confirm !== "yes") return claimPage(c, id, { error: "Tick the confirmation box to replay." }, 422);
    return act(c, id, async () => {
      const r = await replayClaim(c.env, c.get("services").db, id, actorOf(c.get("principal")), c.get("requestId"));
      return `Replayed: ${r.before} → ${r.after}; its stored bytes go to the portal again.`;
    });
  });

  app.post("/claims/:id/resolve", allow("claim.resolve"), async (c) => {
    const form = await protectedForm(c);
    const id = c.req.param("id");
    return act(c, id, async () => {
      const r = await resolveAmbiguousClaim(
        c.env,
        c.get("services").db,
        id,
        form.resolution ?? "",
        form.reason ?? "",
        actorOf(c.get("principal")),
        c.get("requestId"),
      );
      return `Resolved (${r.status}): ${RESOLUTIONS[r.resolution]}.`;
    });
  });

  app.get("/fiscal-messages/:id", async (c) => {
    const d = await fiscalMessageDetail(c.get("services").db, c.req.param("id"));
    if (!d) throw new GatewayError("NOT_FOUND", "no such fiscal message");
    return page(c, `Fiscal message ${d.message.id}`, "/console/find", <FiscalMessagePage d={d} />);
  });

  app.get("/requests/:id", async (c) => {
    const id = c.req.param("id").slice(0, 200);
    const d = await requestDetail(c.get("services").db, id);
    if (!d.calls.length && !d.audit.length) throw new GatewayError("NOT_FOUND", "nothing was kept for that request id");
    return page(c, `Request ${id}`, "/console/find", <RequestPage requestId={id} d={d} />);
  });
}
