import type { FC } from "hono/jsx";

export const BulkReplayResult: FC<{ results: { id: string; ok: boolean; outcome: string; message: string }[] }> = ({ results }) => (
  <>
    <p class="flash">
      {results.filter((r) => r.ok).length} replayed, {results.filter((r) => !r.ok).length} refused.
    </p>
    <table>
      <thead>
        <tr>
          <th>Dead letter</th>
          <th>Result</th>
          <th>Detail</th>
        </tr>
      </thead>
      <tbody>
        {results.map((r) => (
          <tr>
            <td>
              <a href={`/console/dead-letters/${encodeURIComponent(r.id)}`}>{r.id}</a>
            </td>
            <td class={r.ok ? "ok" : "bad"}>{r.ok ? "replayed" : r.outcome}</td>
            <td>{r.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
    <p>
      <a href="/console/dead-letters">← dead letters</a>
    </p>
  </>
);
