import type { FC } from "hono/jsx";
import { withQuery } from "../layout";
import { duration, ist } from "../components";
import { BacklogChart, STATUS_COLOURS, type Series } from "../chart";
import { AGE_BUCKETS, type Depths, type Oldest, type claimsByStatusAndAge, type deadLettersByKind, type samplesSince } from "../ops/backlogs";

export const BacklogsPage: FC<{
  now: number;
  byAge: Awaited<ReturnType<typeof claimsByStatusAndAge>>;
  depths: Depths;
  oldest: Oldest[];
  deadLetters: Awaited<ReturnType<typeof deadLettersByKind>>;
  samples: Awaited<ReturnType<typeof samplesSince>>;
}> = (p) => {
  const line = (label: string, colour: string, pick: (s: (typeof p.samples)[number]) => number): Series => ({
    label,
    colour,
    points: p.samples.map((s) => ({ t: Date.parse(s.at), v: pick(s) })),
  });
  const series = [
    line("claims queued", STATUS_COLOURS.QUEUED, (s) => s.claimsQueued),
    line("claims pending", STATUS_COLOURS.PENDING, (s) => s.claimsPending),
    line("fiscal outbox", "#6b4fbb", (s) => s.fiscalOutbox),
    line("webhooks pending", "#1b8a8f", (s) => s.webhooksPending),
    line("dead letters open", "#a4262c", (s) => s.deadLettersOpen),
  ];
  return (
    <>
      <div class="cards">
        <div class="card">
          Claims waiting for the portal<b>{p.depths.claimsQueued}</b>
          <span class="muted">QUEUED</span>
        </div>
        <div class="card">
          Claims the portal is judging<b>{p.depths.claimsPending}</b>
          <span class="muted">PENDING (polled every 10 min)</span>
        </div>
        <div class="card">
          Fiscal outbox<b>{p.depths.fiscalOutbox}</b>
          <span class="muted">messages not yet delivered to iFIX</span>
        </div>
        <div class="card">
          Webhooks owed to AMRIT<b>{p.depths.webhooksPending}</b>
        </div>
        <div class="card">
          Dead letters open<b class={p.depths.deadLettersOpen ? "bad" : "ok"}>{p.depths.deadLettersOpen}</b>
          <a href="/console/dead-letters">inspect / replay</a>
        </div>
      </div>

      <h2>The last 24 hours</h2>
      {p.samples.length ? (
        <BacklogChart series={series} now={p.now} />
      ) : (
        <p class="muted">No samples yet: the quarter-hourly cron records one each run.</p>
      )}

      <h2>Oldest undelivered item per portal</h2>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Portal</th>
              <th scope="col">What</th>
              <th scope="col">Waiting since</th>
              <th scope="col">For</th>
            </tr>
          </thead>
          <tbody>
            {p.oldest.map((o) => (
              <tr>
                <td>{o.portal}</td>
                <td>{o.href ? <a href={o.href}>{o.what}</a> : <span class="muted">nothing waiting</span>}</td>
                <td>{ist(o.since)}</td>
                <td class="num">{o.since ? duration(p.now - Date.parse(o.since)) : "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>Waiting claims by status and time since their last change</h2>
      <p class="muted">Final statuses (ACCEPTED, REJECTED, CANCELLED) are counted per period on the overview.</p>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Status</th>
              {AGE_BUCKETS.map((b) => (
                <th scope="col" class="num">
                  {b.label}
                </th>
              ))}
              <th scope="col" class="num">
                All
              </th>
            </tr>
          </thead>
          <tbody>
            {p.byAge.map((r) => (
              <tr>
                <th scope="row">{r.status}</th>
                {AGE_BUCKETS.map((b) => (
                  <td class="num">{r.cells[b.key] || "–"}</td>
                ))}
                <td class="num">{r.total}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>Dead letters by kind</h2>
      {p.deadLetters.length ? (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Queue</th>
                <th scope="col" class="num">
                  Open
                </th>
                <th scope="col" class="num">
                  Ever
                </th>
              </tr>
            </thead>
            <tbody>
              {p.deadLetters.map((d) => (
                <tr>
                  <td>
                    <a href={withQuery("/console/dead-letters", { kind: d.kind, state: "all" })}>{d.kind}</a>
                  </td>
                  <td>{d.queue}</td>
                  <td class={`num ${d.open ? "bad" : ""}`}>{d.open}</td>
                  <td class="num">{d.total}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p class="muted">No dead letters.</p>
      )}
    </>
  );
};
