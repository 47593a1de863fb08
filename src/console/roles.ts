import type { ConsoleRole, Principal } from "../http/context";

export type { ConsoleRole };
export const CONSOLE_ROLES_LIST = ["viewer", "operator", "admin"] as const satisfies readonly ConsoleRole[];

const RANK: Record<ConsoleRole, number> = { viewer: 0, operator: 1, admin: 2 };

/**
 * Every change the console can make, and the least role that may make it (CONTRACT §10): a viewer
 * reads and changes nothing; an operator replays, refreshes and resolves; an admin also manages
 * clients. Every form post names its action here, so a new form cannot forget its check.
 */
export const ACTIONS = {
  "dead_letter.replay": "operator",
  "claim.refresh": "operator",
  "claim.replay": "operator",
  "claim.resolve": "operator",
  "payment.status": "operator",
  "alert.test": "operator",
  "client.create": "admin",
  "client.rotate": "admin",
  "client.revoke": "admin",
  "client.update": "admin",
} as const satisfies Record<string, ConsoleRole>;
export type ConsoleAction = keyof typeof ACTIONS;

export const can = (role: ConsoleRole, action: ConsoleAction): boolean => RANK[role] >= RANK[ACTIONS[action]];

/** The admin key is the admin role; an operator client (scope ops) the operator role; a person has theirs. */
export const roleOf = (p: Principal): ConsoleRole => (p.kind === "admin" ? "admin" : p.kind === "person" ? p.role : "operator");

/**
 * A person's role from CONSOLE_ROLES: the exact email first, then `*@<domain>` from the most
 * specific domain up (`*@district.example.org` before `*@example.org`); no match → null (no access).
 */
export function roleFor(email: string, roles: Readonly<Record<string, ConsoleRole>>): ConsoleRole | null {
  const e = email.trim().toLowerCase();
  if (Object.hasOwn(roles, e)) return roles[e];
  const at = e.lastIndexOf("@");
  if (at <= 0) return null;
  const labels = e.slice(at + 1).split(".");
  for (let i = 0; i < labels.length - 1; i++) {
    const key = `*@${labels.slice(i).join(".")}`;
    if (Object.hasOwn(roles, key)) return roles[key];
  }
  return null;
}
