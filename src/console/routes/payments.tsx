import type { Hono } from "hono";
import { GatewayError, statusOf } from "../../http/errors";
import { actorOfPrincipal } from "../../domain/funds/payment-instructions";
import { listPaymentsForOps, setPaymentStatusAsOperator } from "../ops/payments";
import { paymentInstructionDetail } from "../ops/find";
import { PaymentsPage } from "../pages/payments";
import { PaymentInstructionPage } from "../pages/payment-instruction";
import { allow, protectedForm } from "../form";
import { page, type C } from "../render";
import type { ConsoleEnv } from "../session";

export function registerPayments(app: Hono<ConsoleEnv>) {
  const paymentsPage = async (c: C, flash: { ok?: string; error?: string } = {}, status: 200 | 404 | 409 | 400 = 200) => {
    const scope = c.req.query("scope") === "all" ? "all" : "stuck";
    // One tenant's PIs (an operator handed a state's query); still within the principal's tenants.
    const tenant = (c.req.query("tenant") ?? "").trim().slice(0, 64) || undefined;
    const { items } = await listPaymentsForOps(c.get("services").db, scope, 100, undefined, c.get("principal")?.tenants, tenant);
    const s = c.get("session")!;
    return page(
      c,
      "Payment instructions",
      "/console/payments",
      <PaymentsPage scope={scope} tenant={tenant} items={items} csrf={s.csrf} role={s.role} {...flash} />,
      status,
    );
  };

  app.get("/payments", (c) => paymentsPage(c));

  app.post("/payments/:piId/status", allow("payment.status"), async (c) => {
    const form = await protectedForm(c);
    const piId = c.req.param("piId");
    try {
      const r = await setPaymentStatusAsOperator(
        c.env,
        c.get("services").db,
        piId,
        form.status ?? "",
        form.reason ?? "",
        { principal: c.get("principal")! },
        c.get("requestId"),
      );
      return paymentsPage(c, { ok: `${r.piId}: ${r.before} → ${r.after}.` });
    } catch (err) {
      if (err instanceof GatewayError && [400, 403, 404, 409].includes(statusOf(err)))
        return paymentsPage(c, { error: `Not changed: ${err.message}` }, statusOf(err) as 400);
      throw err;
    }
  });

  app.get("/payment-instructions/:piId", async (c) => {
    const d = await paymentInstructionDetail(c.env, c.get("services").db, c.req.param("piId"), actorOfPrincipal(c.get("principal")!));
    if (!d) throw new GatewayError("NOT_FOUND", "no such payment instruction");
    return page(c, `Payment instruction ${d.row.piId}`, "/console/payments", <PaymentInstructionPage d={d} />);
  });
}
