import { html } from "hono/html";

/**
 * The browser may load and call nothing but this gateway: Scalar's fonts, proxy, telemetry and AI
 * services are switched off in reference.js, and this policy refuses them even if they were not.
 * Styles are inline (Scalar injects its own stylesheet).
 */
export const REFERENCE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The API reference: Scalar's standalone script from the Worker's static assets, reading /openapi.json. */
export const referencePage = (title: string) => html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width,initial-scale=1" />
    <title>${title} — API reference</title>
    <link rel="icon" href="data:," />
  </head>
  <body>
    <noscript>This reference needs JavaScript. The document itself: <a href="/openapi.json">/openapi.json</a>.</noscript>
    <div id="app"></div>
    <script src="/docs/assets/scalar-api-reference.js"></script>
    <script src="/docs/assets/reference.js"></script>
  </body>
</html>`;
