import type { Child, FC } from "hono/jsx";
import type { Principal } from "../http/context";
import type { ConsoleRole } from "./roles";

// One small stylesheet, inline: no CDN, works offline, readable on a phone and a laptop.
const CSS = `
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c2430;background:#f5f7fa}
header{background:#12355b;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center}
header strong{font-size:1.05rem;margin-right:.5rem}header a{color:#dce8f5;text-decoration:none;padding:.15rem .3rem;border-radius:4px;white-space:nowrap;display:inline-block}
header a[aria-current]{background:#fff2;color:#fff}header form{margin-left:auto;display:flex;gap:.5rem;align-items:center}
header .who{font-size:.85rem;color:#b8cce0}main{padding:1rem;max-width:1200px;margin:0 auto}
h1{font-size:1.35rem;margin:.3rem 0 1rem}h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}th,td{border-bottom:1px solid #e3e8ee;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#eef2f6;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}.scroll>table{min-width:40rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:.7rem;margin-bottom:1rem}
.card{background:#fff;border:1px solid #e3e8ee;border-radius:8px;padding:.7rem}.card b{display:block;font-size:1.4rem}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end;background:#fff;padding:.6rem;border:1px solid #e3e8ee;border-radius:8px;margin-bottom:.8rem}
label{display:flex;flex-direction:column;font-size:.8rem;color:#4a5666;gap:.15rem}
input,select,textarea{font:inherit;padding:.35rem .45rem;border:1px solid #b9c3cf;border-radius:5px;background:#fff;min-width:0}
button,.button{font:inherit;padding:.4rem .8rem;border-radius:5px;border:1px solid #12355b;background:#12355b;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#fff;color:#12355b}button.danger{background:#a4262c;border-color:#a4262c}
.ok{color:#17693a}.bad{color:#a4262c}.warn{background:#fff4ce;border:1px solid #e8c65a;padding:.6rem .8rem;border-radius:6px;margin:.6rem 0}
.flash{background:#dff6dd;border:1px solid #8cc98a;padding:.6rem .8rem;border-radius:6px;margin:.6rem 0}
.error{background:#fde7e9;border:1px solid #e59aa0;padding:.6rem .8rem;border-radius:6px;margin:.6rem 0}
pre{background:#0f1b2a;color:#e6edf3;padding:.6rem;border-radius:6px;overflow:auto;max-height:22rem;font-size:.8rem;white-space:pre-wrap;word-break:break-word}
.muted{color:#5d6977;font-size:.85rem}.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}.pager{margin:.7rem 0;display:flex;gap:.6rem}
.signin{max-width:420px;margin:3rem auto;background:#fff;border:1px solid #e3e8ee;border-radius:10px;padding:1.2rem}
.signin form{display:flex;flex-direction:column;gap:.6rem}.signin fieldset{border:1px solid #e3e8ee;border-radius:6px;display:flex;flex-direction:column;gap:.5rem}
svg text{font-family:inherit}
a{color:#0b4f8a}a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,summary:focus-visible{outline:3px solid #f0a30a;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;color:#12355b;padding:.4rem .7rem;z-index:10}.skip:focus{left:.5rem}
header form.find{margin-left:0}header form.find input{width:14rem;max-width:60vw;padding:.25rem .4rem}header form.find label{color:#dce8f5}
.role{display:inline-block;background:#fff;color:#12355b;border-radius:3px;padding:0 .35rem;font-size:.75rem;font-weight:600;margin-left:.3rem}
.actions{display:flex;flex-wrap:wrap;gap:.6rem;align-items:flex-end;margin:.6rem 0}.actions form{background:#fff;border:1px solid #e3e8ee;border-radius:8px;padding:.6rem;display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end}
.secret{font-family:ui-monospace,monospace;background:#fff4ce;padding:.15rem .3rem;border-radius:3px;word-break:break-all}
fieldset.scopes{display:flex;flex-wrap:wrap;gap:.3rem 1rem;border:1px solid #e3e8ee;border-radius:6px}fieldset.scopes label{flex-direction:row;gap:.3rem;align-items:center;font-size:.85rem;color:#1c2430}
@media (max-width:640px){main{padding:.6rem}th,td{padding:.3rem}header form{margin-left:0}header nav{display:flex;flex-wrap:wrap;gap:.1rem}}
`;

export const NAV = [
  ["/console", "Overview"],
  ["/console/backlogs", "Queues"],
  ["/console/transactions", "Transactions"],
  ["/console/dead-letters", "Dead letters"],
  ["/console/reconciliation", "Reconciliation"],
  ["/console/payments", "Payments"],
  ["/console/clients", "Clients"],
  ["/console/alerts", "Alerts"],
  ["/console/configuration", "Configuration"],
  ["/console/audit", "Audit"],
] as const;

export const who = (p: Principal) => (p.kind === "admin" ? "admin key" : p.kind === "person" ? p.email : `${p.name} (${p.id})`);

export const Document: FC<{ title: string; children?: Child }> = ({ title, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="robots" content="noindex" />
      <title>{`${title} · AMRIT gateway console`}</title>
      <style dangerouslySetInnerHTML={{ __html: CSS }} />
    </head>
    <body>{children}</body>
  </html>
);

export const Layout: FC<{ title: string; path: string; principal: Principal; role: ConsoleRole; csrf: string; children?: Child }> = (p) => (
  <Document title={p.title}>
    <a class="skip" href="#main">
      Skip to content
    </a>
    <header>
      <strong>AMRIT gateway</strong>
      <nav aria-label="Console sections">
        {NAV.map(([href, label]) => (
          <a href={href} aria-current={p.path === href ? "page" : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {/* biome-ignore lint/a11y/useSemanticElements: a form with role="search" is the long-supported landmark; <search> is too new for every browser an operator may have */}
      <form class="find" method="get" action="/console/find" role="search">
        <label>
          <span class="sr">Find by id</span>
          <input type="search" name="q" placeholder="Find a claim, message, PI or request id" maxlength={200} />
        </label>
      </form>
      <form method="post" action="/console/sign-out">
        <span class="who">
          {who(p.principal)}
          <span class="role" title="Your console role">
            {p.role}
          </span>
        </span>
        <input type="hidden" name="_csrf" value={p.csrf} />
        <button class="secondary" type="submit">
          Sign out
        </button>
      </form>
    </header>
    <main id="main" tabindex={-1}>
      <h1>{p.title}</h1>
      {p.children}
    </main>
  </Document>
);

/** Says why a form is missing: the role reads but may not change this. */
export const ReadOnly: FC<{ role: ConsoleRole; needs: ConsoleRole }> = ({ role, needs }) => (
  <p class="muted">
    Your role ({role}) can read this but not change it; changes here need the {needs} role.
  </p>
);

export const Csrf: FC<{ token: string }> = ({ token }) => <input type="hidden" name="_csrf" value={token} />;

export const Flash: FC<{ ok?: string; error?: string }> = ({ ok, error }) => (
  <>
    {ok ? (
      <p class="flash" role="status">
        {ok}
      </p>
    ) : null}
    {error ? (
      <p class="error" role="alert">
        {error}
      </p>
    ) : null}
  </>
);

/** Formats paise as rupees with Indian digit grouping, without float arithmetic on the amount. */
export function rupees(paise: number): string {
  const neg = paise < 0;
  const abs = Math.abs(Math.trunc(paise));
  const whole = Math.floor(abs / 100);
  const frac = String(abs % 100).padStart(2, "0");
  const s = String(whole);
  const last3 = s.slice(-3);
  const rest = s.slice(0, -3).replace(/\B(?=(\d{2})+(?!\d))/g, ",");
  return `${neg ? "−" : ""}₹${rest ? `${rest},${last3}` : last3}.${frac}`;
}

/** Builds a page URL keeping the current filters. */
export function withQuery(path: string, params: Record<string, string | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
