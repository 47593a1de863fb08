import { GatewayError } from "../../errors";

/** The end user's token, from `X-Health-Token` (with or without `Bearer `). Never stored or logged. */
export const HEALTH_TOKEN_HEADER = "X-Health-Token";

const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export function readHealthToken(header: string | undefined | null): string {
  const raw = (header ?? "").trim();
  const token = /^bearer$/i.test(raw) ? "" : raw.replace(/^bearer\s+/i, "").trim();
  if (!token) throw new GatewayError("UNAUTHORIZED", `this route needs the user's token in ${HEALTH_TOKEN_HEADER}`);
  if (token.length > 8192 || !TOKEN.test(token)) throw new GatewayError("UNAUTHORIZED", `${HEALTH_TOKEN_HEADER} is malformed`);
  return token;
}
