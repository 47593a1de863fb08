import type { Context } from "hono";
import type { Child } from "hono/jsx";
import { Document, Layout } from "./layout";
import type { ConsoleEnv } from "./session";

export type C = Context<ConsoleEnv>;
export type PageStatus = 200 | 400 | 401 | 403 | 404 | 409 | 422 | 502 | 503;

/** A signed-in page inside the console's layout. */
export const page = (c: C, title: string, path: string, body: Child, status: PageStatus = 200) => {
  const s = c.get("session")!;
  return c.html(
    <Layout title={title} path={path} principal={s.principal} role={s.role} csrf={s.csrf}>
      {body}
    </Layout>,
    status,
  );
};

export const errorPage = (c: C, status: number, message: string) =>
  c.html(
    <Document title="Error">
      <main id="main">
        <h1>{status === 403 ? "Refused" : status === 404 ? "Not found" : status === 401 ? "Signed out" : "Something went wrong"}</h1>
        <p class="error" role="alert">
          {message}
        </p>
        <p>
          <a href="/console">Back to the console</a>
        </p>
      </main>
    </Document>,
    status as 400,
  );
