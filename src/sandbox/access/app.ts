import { Hono, type Context } from "hono";
import { html } from "hono/html";
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";

/**
 * A local stand-in for Cloudflare Access (the team domain `<sandbox>/access`), so that the console's
 * whole sign-in path runs without the network, in tests and under `npm start`:
 *
 *   GET  /cdn-cgi/access/certs        the public keys, as Access publishes them (`keys`, JWKs)
 *   GET  /cdn-cgi/access/login/<host>?kid=<aud>&redirect_url=<url>
 *                                     a sign-in page: pick a person (or type an email); the stand-in
 *                                     signs an application token for them and sends the browser back
 *   GET  /cdn-cgi/access/logout       ends the stand-in's "session" (it keeps none) and says so
 *   POST /__sandbox/assertion         { email | commonName, aud, ttlSeconds?, issuer?, iat? } → { token }:
 *                                     tests (commonName: a service token, which carries no email)
 *
 * The token is what Access puts in `Cf-Access-Jwt-Assertion` and the `CF_Authorization` cookie:
 * RS256, `kid` in the header, claims iss (the team domain), aud (an array with the application's
 * tag), email, sub, iat, nbf, exp, type "app", identity_nonce, country. Real Access answers its
 * sign-in at `/cdn-cgi/access/authorized` on the application's own domain, which Cloudflare's edge
 * handles before any Worker; the stand-in hands the token to the gateway's development-only
 * `/console/dev/access-callback` instead, which sets the same cookie.
 *
 * Invented (marked so): the sign-in page, the people it offers, and the assertion route. The key
 * pair is made at first use and lives as long as the sandbox (a restart means signing in again).
 */
export interface AccessSandboxOptions {
  /** People the sign-in page offers with one click (e.g. one per console role). */
  people?: { email: string; note?: string }[];
  /** Lifetime of issued tokens (Access's application session; default 8 hours). */
  tokenTtlSeconds?: number;
}

interface Signer {
  privateKey: CryptoKey;
  publicJwk: JWK;
  kid: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function createAccessSandbox(opts: AccessSandboxOptions = {}) {
  let signer: Promise<Signer> | undefined;
  const keys = () =>
    (signer ??= (async () => {
      const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true, modulusLength: 2048 });
      const publicJwk = await exportJWK(publicKey);
      const kid = await calculateJwkThumbprint(publicJwk);
      return { privateKey, publicJwk: { ...publicJwk, kid, alg: "RS256", use: "sig" }, kid };
    })());

  /** The team domain as this request reached it: `<origin>/access`. */
  const teamOf = (c: Context) => {
    const u = new URL(c.req.url);
    const at = u.pathname.indexOf("/cdn-cgi/") >= 0 ? u.pathname.indexOf("/cdn-cgi/") : u.pathname.indexOf("/__sandbox/");
    return `${u.origin}${u.pathname.slice(0, Math.max(0, at))}`;
  };

  async function sign(claims: { email?: string; commonName?: string; aud: string; issuer: string; ttlSeconds?: number; iat?: number }) {
    const k = await keys();
    const iat = claims.iat ?? Math.floor(Date.now() / 1000);
    const who = claims.email ? { email: claims.email, identity_nonce: crypto.randomUUID(), country: "IN" } : { common_name: claims.commonName };
    return new SignJWT({ ...who, type: "app" })
      .setProtectedHeader({ alg: "RS256", kid: k.kid, typ: "JWT" })
      .setIssuer(claims.issuer)
      .setAudience([claims.aud])
      .setSubject(crypto.randomUUID())
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + (claims.ttlSeconds ?? opts.tokenTtlSeconds ?? 8 * 3600))
      .sign(k.privateKey);
  }

  const app = new Hono();

  app.get("/cdn-cgi/access/certs", async (c) => {
    const k = await keys();
    return c.json({ keys: [k.publicJwk] });
  });

  const loginPage = (c: Context) => {
    const aud = c.req.query("kid") ?? "";
    const back = c.req.query("redirect_url") ?? "";
    const people = opts.people ?? [];
    // Absolute: the page may sit at /login/<host>, where a relative "login" would not resolve here.
    const action = `${teamOf(c)}/cdn-cgi/access/login`;
    return c.html(html`<!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>Sign in · Cloudflare Access stand-in</title>
          <style>
            body{font:15px/1.45 system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#1c2430}
            form{display:flex;flex-direction:column;gap:.6rem;margin:1rem 0}button{font:inherit;padding:.5rem;border-radius:5px;border:1px solid #12355b;background:#12355b;color:#fff;cursor:pointer}
            button.person{background:#fff;color:#12355b;text-align:left}input{font:inherit;padding:.4rem}label{display:flex;flex-direction:column;gap:.2rem}
            .note{color:#5d6977;font-size:.85rem}
          </style>
        </head>
        <body>
          <h1>Cloudflare Access (local stand-in)</h1>
          <p class="note">Development only: no password is asked. Real Access signs people in through your identity provider.</p>
          ${
            people.length
              ? html`<form method="post" action="${action}">
                <input type="hidden" name="kid" value="${aud}" /><input type="hidden" name="redirect_url" value="${back}" />
                ${people.map((p) => html`<button class="person" type="submit" name="email" value="${p.email}">${p.email}${p.note ? html` <span class="note">(${p.note})</span>` : ""}</button>`)}
              </form>`
              : ""
          }
          <form method="post" action="${action}">
            <input type="hidden" name="kid" value="${aud}" /><input type="hidden" name="redirect_url" value="${back}" />
            <label>Email<input type="email" name="email" required autocomplete="off" /></label>
            <button type="submit">Sign in</button>
          </form>
        </body>
      </html>`);
  };
  app.get("/cdn-cgi/access/login", loginPage);
  app.get("/cdn-cgi/access/login/:host", loginPage);

  app.post("/cdn-cgi/access/login", async (c) => {
    const form = await c.req.parseBody();
    const email = String(form.email ?? "")
      .trim()
      .toLowerCase();
    const aud = String(form.kid ?? "");
    let back: URL;
    try {
      back = new URL(String(form.redirect_url ?? ""));
    } catch {
      return c.text("redirect_url is not a URL", 400);
    }
    if (!EMAIL.test(email) || !aud || !/^https?:$/.test(back.protocol)) return c.text("email, kid and redirect_url are required", 400);
    const token = await sign({ email, aud, issuer: teamOf(c) });
    const callback = new URL("/console/dev/access-callback", back.origin);
    callback.searchParams.set("token", token);
    return c.redirect(callback.toString(), 303);
  });

  app.get("/cdn-cgi/access/logout", (c) =>
    c.html(html`<!doctype html>
      <html lang="en">
        <head><meta charset="utf-8" /><title>Signed out · Cloudflare Access stand-in</title></head>
        <body style="font:15px/1.45 system-ui,sans-serif;max-width:30rem;margin:3rem auto">
          <h1>Signed out</h1>
          <p>You are signed out of the console and of the Access stand-in.</p>
        </body>
      </html>`),
  );

  app.post("/__sandbox/assertion", async (c) => {
    const b = (await c.req.json().catch(() => ({}))) as {
      email?: string;
      commonName?: string;
      aud?: string;
      ttlSeconds?: number;
      issuer?: string;
      iat?: number;
    };
    if (!(b.email || b.commonName) || !b.aud) return c.json({ error: "email (or commonName) and aud are required" }, 400);
    return c.json({
      token: await sign({
        email: b.email,
        commonName: b.commonName,
        aud: b.aud,
        issuer: b.issuer ?? teamOf(c),
        ttlSeconds: b.ttlSeconds,
        iat: b.iat,
      }),
    });
  });

  return { app };
}
