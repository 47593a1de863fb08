import type { FC } from "hono/jsx";
import type { Found } from "../ops/find";

export const FindPage: FC<{ q: string; found: Found[] }> = ({ q, found }) => (
  <>
    {/* biome-ignore lint/a11y/useSemanticElements: a form with role="search" is the long-supported landmark; <search> is too new for every browser an operator may have */}
    <form class="filters" method="get" action="/console/find" role="search">
      <label>
        Claim id, fiscal message id, PI id or payment id, or request id
        <input type="search" name="q" value={q} required maxlength={200} size={48} />
      </label>
      <button type="submit">Find</button>
    </form>
    {q ? (
      found.length ? (
        <ul>
          {found.map((f) => (
            <li>
              <a href={f.href}>{f.summary}</a>
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">Nothing has the id {q}. Claim ids are UUIDs; request ids are the X-Request-Id of an API call.</p>
      )
    ) : (
      <p class="muted">
        One box for every id an operator is handed: a claim, a fiscal message, a payment instruction, or the request id a caller reports.
      </p>
    )}
  </>
);
