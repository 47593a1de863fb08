import type { Hono } from "hono";
import { z } from "zod";
import { GatewayError } from "../../errors";
import { decodeCursor, encodeCursor } from "../../http/pagination";
import { TransactionFilter, getTransaction, listTransactions } from "../ops/transactions";
import { TransactionsPage } from "../pages/transactions";
import { TransactionDetail } from "../pages/transaction";
import { istInput, pick, zodMessage } from "../form";
import { page } from "../render";
import type { ConsoleEnv } from "../session";

const PAGE = 50;

export function registerTransactions(app: Hono<ConsoleEnv>) {
  app.get("/transactions", async (c) => {
    const q = pick(c.req.query(), ["portal", "outcome", "operation", "subjectId", "requestId", "from", "to", "before"]);
    const parsed = TransactionFilter.safeParse({ ...q, from: istInput(q.from), to: istInput(q.to) });
    if (!parsed.success)
      return page(
        c,
        "Transaction log",
        "/console/transactions",
        <TransactionsPage q={q} items={[]} next={null} error={zodMessage(parsed.error)} />,
        400,
      );
    const before = q.before ? decodeCursor(q.before, z.number().int()) : undefined;
    const { items, nextBefore } = await listTransactions(c.get("services").db, parsed.data, PAGE, before);
    return page(
      c,
      "Transaction log",
      "/console/transactions",
      <TransactionsPage q={q} items={items} next={nextBefore === null ? null : encodeCursor(nextBefore)} />,
    );
  });

  app.get("/transactions/:id", async (c) => {
    const id = Number(c.req.param("id"));
    const t = Number.isSafeInteger(id) && id > 0 ? await getTransaction(c.get("services").db, id) : null;
    if (!t) throw new GatewayError("NOT_FOUND", "no such call in the transaction log");
    return page(c, `Call ${t.id}`, "/console/transactions", <TransactionDetail t={t} />);
  });
}
