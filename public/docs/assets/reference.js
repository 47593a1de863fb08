// Starts Scalar's API reference on this gateway's /openapi.json with every outside service off:
// no font CDN, no request proxy (try-it calls go straight to this origin), no telemetry, no AI
// agent or MCP, no developer toolbar; credentials typed into try-it are not kept in localStorage.
Scalar.createApiReference("#app", {
  url: "/openapi.json",
  withDefaultFonts: false,
  proxyUrl: "",
  telemetry: false,
  showDeveloperTools: "never",
  agent: { disabled: true },
  mcp: { disabled: true },
  persistAuth: false,
  documentDownloadType: "json",
  hideDarkModeToggle: false,
  defaultOpenFirstTag: true,
  operationTitleSource: "summary",
  authentication: { preferredSecurityScheme: "oauth2" },
});
