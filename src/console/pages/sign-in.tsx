import type { FC } from "hono/jsx";
import { Flash } from "../layout";

export interface SignInProps {
  error?: string;
  notice?: string;
  /** Where Cloudflare Access signs a person in; absent when Access is not configured. */
  accessLogin?: string;
  /** Access is configured: the key form is the break-glass sign-in only. */
  accessMode: boolean;
}

export const SignInPage: FC<SignInProps> = ({ error, notice, accessLogin, accessMode }) => (
  <main class="signin" id="main">
    <h1>AMRIT gateway console</h1>
    <Flash ok={notice} error={error} />
    {accessMode ? (
      <>
        <p>Operators sign in as themselves, through Cloudflare Access; your role comes from the console's configuration (CONSOLE_ROLES).</p>
        {accessLogin ? (
          <p>
            <a class="button" href={accessLogin}>
              Sign in with Cloudflare Access
            </a>
          </p>
        ) : null}
        <details>
          <summary>Break-glass sign-in with the admin key</summary>
          <p class="warn">Only when Access itself is unavailable. Using the admin key raises an alert to the operators.</p>
          <KeyForm label="Admin key" />
        </details>
      </>
    ) : (
      <>
        <p class="muted">For NHM IT cell and treasury operators. Sign in with the admin key or an operator client (scope ops).</p>
        <form method="post" action="/console/sign-in" autocomplete="off">
          <fieldset>
            <legend>Admin key or operator API key</legend>
            <label>
              Key
              <input type="password" name="key" autocomplete="off" />
            </label>
          </fieldset>
          <fieldset>
            <legend>or operator client credentials</legend>
            <label>
              Client id
              <input type="text" name="clientId" autocomplete="off" />
            </label>
            <label>
              Client secret
              <input type="password" name="clientSecret" autocomplete="off" />
            </label>
          </fieldset>
          <button type="submit">Sign in</button>
        </form>
      </>
    )}
  </main>
);

const KeyForm: FC<{ label: string }> = ({ label }) => (
  <form method="post" action="/console/sign-in" autocomplete="off">
    <label>
      {label}
      <input type="password" name="key" autocomplete="off" required />
    </label>
    <button type="submit" class="danger">
      Sign in with the admin key
    </button>
  </form>
);
