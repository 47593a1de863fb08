import type { FC } from "hono/jsx";
import { Csrf, Flash, ReadOnly } from "../layout";
import { ist } from "../components";
import { can, type ConsoleRole } from "../roles";
import type { ClientView } from "../../domain/clients";
import { SCOPES } from "../../domain/security/scopes";

const ScopeBoxes: FC<{ checked: string[]; idPrefix: string }> = ({ checked, idPrefix }) => (
  <fieldset class="scopes">
    <legend>Scopes</legend>
    {SCOPES.map((s) => (
      <label for={`${idPrefix}-${s}`}>
        <input type="checkbox" id={`${idPrefix}-${s}`} name="scopes" value={s} checked={checked.includes(s)} /> {s}
      </label>
    ))}
  </fieldset>
);

const TenantsInput: FC<{ value: string[] }> = ({ value }) => (
  <label style="flex:1 1 14rem">
    Tenants (space or comma separated; * = all; empty = none)
    <input name="tenants" value={value.join(" ")} maxlength={4000} placeholder="pb.jalandhar pb.amritsar" />
  </label>
);

export const ClientsPage: FC<{
  items: ClientView[];
  csrf: string;
  role: ConsoleRole;
  ok?: string;
  error?: string;
  draft?: { name: string; scopes: string[]; tenants: string[] };
}> = ({ items, csrf, role, ok, error, draft }) => {
  const admin = can(role, "client.create");
  return (
    <>
      <Flash ok={ok} error={error} />
      {admin ? (
        <form method="post" action="/console/clients" class="filters">
          <Csrf token={csrf} />
          <h2 style="flex-basis:100%;margin:0">New client</h2>
          <label>
            Name
            <input name="name" required maxlength={120} value={draft?.name ?? ""} />
          </label>
          <ScopeBoxes checked={draft?.scopes ?? []} idPrefix="new" />
          <TenantsInput value={draft?.tenants ?? []} />
          <button type="submit">Create (the secret is shown once)</button>
        </form>
      ) : (
        <ReadOnly role={role} needs="admin" />
      )}
      <h2>Clients</h2>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Client</th>
              <th scope="col">Scopes</th>
              <th scope="col">Tenants</th>
              <th scope="col">State</th>
              <th scope="col">Changed</th>
              {admin ? <th scope="col">Manage</th> : null}
            </tr>
          </thead>
          <tbody>
            {items.map((cl) => (
              <tr id={`client-${cl.clientId}`}>
                <td>
                  <strong>{cl.name}</strong>
                  <br />
                  <code>{cl.clientId}</code>
                </td>
                <td>{cl.scopes.join(", ")}</td>
                <td>{cl.tenants.length ? cl.tenants.join(", ") : <span class="muted">none</span>}</td>
                <td class={cl.revokedAt ? "bad" : "ok"}>{cl.revokedAt ? `revoked ${ist(cl.revokedAt)}` : `active (generation ${cl.generation})`}</td>
                <td>{ist(cl.updatedAt)}</td>
                {admin ? (
                  <td>
                    {cl.revokedAt ? (
                      <span class="muted">–</span>
                    ) : (
                      <details>
                        <summary>Manage {cl.name}</summary>
                        <form method="post" action={`/console/clients/${encodeURIComponent(cl.clientId)}/update`} class="filters">
                          <Csrf token={csrf} />
                          <ScopeBoxes checked={cl.scopes} idPrefix={`s-${cl.clientId}`} />
                          <TenantsInput value={cl.tenants} />
                          <button type="submit">Save scopes and tenants</button>
                        </form>
                        <form method="post" action={`/console/clients/${encodeURIComponent(cl.clientId)}/rotate`} class="filters">
                          <Csrf token={csrf} />
                          <span>New secret and API key; the old ones and every token issued with them stop working.</span>
                          <button type="submit">Rotate credentials</button>
                        </form>
                        <form method="post" action={`/console/clients/${encodeURIComponent(cl.clientId)}/revoke`} class="filters">
                          <Csrf token={csrf} />
                          <label style="flex-direction:row;gap:.4rem;align-items:center">
                            <input type="checkbox" name="confirm" value="yes" required /> Revoke {cl.name}: its key and tokens stop working at once
                          </label>
                          <button type="submit" class="danger">
                            Revoke
                          </button>
                        </form>
                      </details>
                    )}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {items.length === 0 ? <p class="muted">No clients yet.</p> : null}
    </>
  );
};
