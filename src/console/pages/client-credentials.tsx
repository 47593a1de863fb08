import type { FC } from "hono/jsx";
import { Facts } from "../components";
import type { IssuedCredentials } from "../../domain/clients";

/** New credentials, shown this once: only their hashes are stored. The page is never cached. */
export const ClientCredentialsPage: FC<{ creds: IssuedCredentials; what: "created" | "rotated" }> = ({ creds, what }) => (
  <>
    <p class="warn" role="alert">
      <strong>Copy these now: they are shown once.</strong> The gateway keeps only their hashes;{" "}
      {what === "rotated" ? "the previous secret, key and tokens no longer work." : "lose them and you rotate."}
    </p>
    <Facts
      caption="The client's credentials"
      rows={[
        ["Client id", <code>{creds.clientId}</code>],
        ["Client secret", <span class="secret">{creds.clientSecret}</span>],
        ["API key", <span class="secret">{creds.apiKey}</span>],
        ["Scopes", creds.scopes.join(", ")],
        ["Tenants", creds.tenants.join(", ") || "none"],
      ]}
    />
    <p>
      <a href="/console/clients">← all clients</a>
    </p>
  </>
);
