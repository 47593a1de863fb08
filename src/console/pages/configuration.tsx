import type { FC } from "hono/jsx";
import { duration, ist } from "../components";
import type { AreaHealth, PublicKeyView, TokenHealth } from "../ops/config-health";
import type { cronRuns } from "../../storage/schema/cron-runs";

export const ConfigurationPage: FC<{
  now: number;
  areas: AreaHealth[];
  tokens: TokenHealth[];
  keys: { keys: PublicKeyView[] } | { error: string };
  crons: (typeof cronRuns.$inferSelect)[];
  expectedJobs: { cron: string; job: string }[];
}> = (p) => (
  <>
    <p class="muted">
      Names only: this page never shows a configured value. Each area is checked the way its adapter checks it at first use; a broken one answers 503
      CONFIG_INVALID to its routes while the others keep working.
    </p>
    <h2>Configuration by area</h2>
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">Area</th>
            <th scope="col">State</th>
            <th scope="col">What to fix</th>
          </tr>
        </thead>
        <tbody>
          {p.areas.map((a) => (
            <tr>
              <th scope="row">{a.area}</th>
              <td class={a.ok ? "ok" : "bad"}>{a.ok ? (a.notConfigured ? "not configured (optional)" : "valid") : "invalid"}</td>
              <td>{a.problems.map((x) => `${x.name} ${x.problem}`).join(", ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>

    <h2>Cached upstream tokens</h2>
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">Upstream</th>
            <th scope="col">Cached</th>
            <th scope="col">Age</th>
            <th scope="col">Used until</th>
          </tr>
        </thead>
        <tbody>
          {p.tokens.map((t) => (
            <tr>
              <th scope="row">{t.provider}</th>
              <td class={t.cached ? "ok" : "muted"}>{t.cached ? "yes" : "no (fetched on the next call)"}</td>
              <td>{t.cached && t.fetchedAt ? `${duration(p.now - Date.parse(t.fetchedAt))} (fetched ${ist(t.fetchedAt)})` : "–"}</td>
              <td>{t.expiresAt ? `${ist(t.expiresAt)} (${t.expiresAt > p.now ? `in ${duration(t.expiresAt - p.now)}` : "stale"})` : "–"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
    <p class="muted">
      KV keys upstream-token:assam and upstream-token:umang; the age is the time since the last successful token call in the transaction log.
    </p>

    <h2>The gateway's public iFIX key</h2>
    {"error" in p.keys ? (
      <p class="error">{p.keys.error}</p>
    ) : (
      <>
        <p class="muted">
          What iFIX needs to verify the gateway's signed messages (RSASSA-PKCS1-v1_5, SHA-256).{" "}
          {p.keys.keys.length > 1 ? "The first key signs; the others are still published during a rotation." : ""}
        </p>
        {p.keys.keys.map((k, i) => (
          <>
            <h3 style="font-size:1rem">
              {i === 0 ? "Signing key" : "Also published"} · kid {k.kid} · RSA {k.bits} bits
            </h3>
            <pre>{JSON.stringify(k.jwk, null, 2)}</pre>
          </>
        ))}
      </>
    )}

    <h2>Scheduled jobs</h2>
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Cron (UTC)</th>
            <th scope="col">Last run</th>
            <th scope="col">Outcome</th>
            <th scope="col" class="num">
              Took
            </th>
            <th scope="col">Last success</th>
          </tr>
        </thead>
        <tbody>
          {p.expectedJobs.map(({ cron, job }) => {
            const r = p.crons.find((x) => x.job === job);
            return (
              <tr>
                <th scope="row">{job}</th>
                <td>
                  <code>{cron}</code>
                </td>
                <td>{r ? `${ist(r.startedAt)} (${duration(p.now - Date.parse(r.startedAt))} ago)` : <span class="muted">never</span>}</td>
                <td class={r ? (r.outcome === "ok" ? "ok" : "bad") : "muted"}>{r ? `${r.outcome}${r.errorKind ? ` (${r.errorKind})` : ""}` : "–"}</td>
                <td class="num">{r ? `${r.durationMs} ms` : "–"}</td>
                <td>{r?.lastOkAt ? ist(r.lastOkAt) : "–"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  </>
);
