import { Hono, type Context } from "hono";
import { DEVELOPMENT_DEFAULTS } from "../../env";
import { isAadhaarNumber } from "./verhoeff";
import { randomText, sha256 } from "./crypto";
import { seedShapeProblem } from "./seed-shapes";
import {
  DEFAULT_PROFILE,
  districts,
  FAIL,
  GENERIC_RD,
  maskedMobile,
  PE004,
  profilePd,
  providers,
  seed,
  userRequests,
  type SandboxProfile,
} from "./fixtures";

/**
 * UMANG / NDHM as seed 001 describes it: every op is `POST /ws1/1.0/<op>` with the UMANG envelope in
 * the body and `Authorization: Bearer <api token>`, `deptid`, `srvid`, `subsid`, `subsid2`, `formtrkr`
 * headers; every answer is `{rs, rc, rd, pd}` with HTTP 200, failures as `rs:"F", rc:"400"` and the
 * cause in `pd` ("404 Not Found: [{…}]", "401 Unauthorized: [no body]").
 *
 * State (in memory): the gateway's sessions (the `session` op: clientId/clientSecret or a refresh
 * token → expiring accessToken), users and their tokens, OTP transactions, PINs, requests, lockers.
 * Wrong OTPs, PINs and tokens get the seed's failure form. Where the seed shows only a failure for an
 * op, the success shape is invented (marked in the handler).
 *
 * Every body is checked against the seed's request examples for its op (seed-shapes.ts): a field the
 * seed does not show, a missing one or a wrong JSON type is refused in the seed's failure form and
 * counted (stats.seedRejected), so the gateway is held to the seed, not the other way round.
 *
 * Inspection and control under /__sandbox/ (not subject to fault injection):
 *   GET  /__sandbox/stats             session calls (and their grant types), calls per op, duplicate trackers
 *   GET  /__sandbox/calls/:op         the recent calls of an op (oldest first): body (secrets as
 *                                     "sha256:<hex>"), headers, and the seed-shape problem if any
 *   GET  /__sandbox/last/:op          the last body of an op: envelope and fields, secrets as "sha256:<hex>"
 *   GET  /__sandbox/last-headers/:op  the last headers of an op (the bearer as "sha256:<hex>")
 *   GET  /__sandbox/otp/:id           the OTP "sent" for a transaction / session / link reference
 *   POST /__sandbox/users             create a user {phrAddress?, healthId?, password?} → {user, token}
 *   PUT  /__sandbox/config            runtime options (UmangRuntimeConfig)
 *   POST /__sandbox/sessions/expire   every gateway session expires now ({refresh: true}: refresh tokens too)
 *   POST /__sandbox/reset             forget everything, back to the start-up options
 *
 * It starts with one user, the seed's example (PHR address shahnawaz123@sbx, ABHA number
 * 41-1661-3480-0127, no password or PIN): POST /v1/health/auth/init with that ABHA number, read the
 * OTP at /umang/__sandbox/otp/<txnId>, confirm, and use the answered token as X-Health-Token.
 */
export interface UmangSandboxOptions {
  /** The static UMANG bearer (UMANG_API_TOKEN). */
  apiToken?: string;
  /** Credentials of the `session` op (UMANG_CLIENT_ID / UMANG_CLIENT_SECRET). */
  clientId?: string;
  clientSecret?: string;
  /** `deptid` / `srvid` expected in headers and envelope (seed: 379 / 1972). */
  deptId?: string;
  serviceId?: string;
  /** Lifetime of session access tokens, seconds (seed: expiresIn 600) and of refresh tokens (seed: 1800). */
  sessionTtlSeconds?: number;
  refreshTtlSeconds?: number;
  /** Lifetime of users' tokens, seconds. */
  userTokenTtlSeconds?: number;
  /** Requester types the gateway's session may act as (others: 403 "Token with invalid access role"). */
  clientRoles?: string[];
  /** Ops answered with a plain-text "Internal Server Error" (HTTP 500), or "*" for all. */
  internalError?: string[] | "*";
  /** Ops answered with UMANG's own failure ({rs:"F", rc:"PE004", pd:null}), or "*" for all. */
  pe004?: string[] | "*";
  /**
   * How the `session` op treats `grantType: "refresh_token"`, which seed 001 does not show: "accept"
   * (as ABDM's gateway sessions do: invented), UMANG's own PE004, a plain-text 500, or "slow" (an
   * answer after 3 s, past the gateway's timeout in tests).
   */
  refreshGrant?: "accept" | "pe004" | "internalError" | "slow";
}

export type UmangRuntimeConfig = Omit<UmangSandboxOptions, "apiToken" | "clientId" | "clientSecret" | "deptId" | "serviceId">;

const RUNTIME_DEFAULTS: Required<UmangRuntimeConfig> = {
  sessionTtlSeconds: 600,
  refreshTtlSeconds: 1800,
  userTokenTtlSeconds: 1800,
  clientRoles: ["HIP", "HIU"],
  internalError: [],
  pe004: [],
  refreshGrant: "accept",
};

/** ABDM's request statuses (consents, subscriptions, authorizations). */
const REQUEST_STATUSES = ["REQUESTED", "GRANTED", "DENIED", "REVOKED", "EXPIRED"];

const ENVELOPE = ["tkn", "trkr", "usrid", "srvid", "mode", "pltfrm", "did", "deptid", "subsid", "subsid2", "formtrkr"] as const;
/** Fields never kept in clear by the sandbox's inspection record. */
const SECRET_FIELDS = new Set([
  "clientSecret",
  "password",
  "pin",
  "otp",
  "value",
  "token",
  "authCode",
  "aadhaar",
  "xAuthToken",
  "xAuthTokenByVerifyPIN",
  "authorization",
  "refreshToken",
  "appToken",
]);

interface User {
  profile: SandboxProfile;
  password?: string;
  pin?: string;
  aadhaarVerified: boolean;
  requests: ReturnType<typeof userRequests>;
  notifications: number;
}
interface Expiring {
  expiresAt: number;
}
interface Txn extends Expiring {
  otp: string;
  kind: "auth" | "aadhaar" | "forgotPin" | "link" | "userAuth";
  userId: string;
  requesterId?: string;
  linkRef?: string;
}

type Body = Record<string, any>;
type Answer = { pd: unknown } | { fail: string } | { raw: Response };

const randomId = (prefix: string) => `${prefix}.${randomText(24)}`;

/** One call as the sandbox recorded it, for tests to find their own calls among everyone's. */
export interface RecordedCall {
  op: string;
  body: Body;
  headers: Record<string, string | null>;
  /** Why the body did not match the seed's request for the op (then it was refused), or null. */
  seedProblem: string | null;
}
const MAX_RECORDED = 5_000;
const otp6 = () => {
  const b = new Uint32Array(1);
  crypto.getRandomValues(b);
  return String(b[0] % 1_000_000).padStart(6, "0");
};

export function createUmangSandbox(opts: UmangSandboxOptions = {}) {
  const apiToken = opts.apiToken ?? DEVELOPMENT_DEFAULTS.UMANG_API_TOKEN;
  const clientId = opts.clientId ?? DEVELOPMENT_DEFAULTS.UMANG_CLIENT_ID;
  const clientSecret = opts.clientSecret ?? DEVELOPMENT_DEFAULTS.UMANG_CLIENT_SECRET;
  const deptId = opts.deptId ?? "379";
  const serviceId = opts.serviceId ?? "1972";
  const { apiToken: _a, clientId: _c, clientSecret: _s, deptId: _d, serviceId: _v, ...runtime } = opts;
  const startup: Required<UmangRuntimeConfig> = { ...RUNTIME_DEFAULTS, ...stripUndefined(runtime) };

  let config: Required<UmangRuntimeConfig> = { ...startup };
  let userSequence = 0;
  let sessions = new Map<string, Expiring>();
  let refreshTokens = new Map<string, Expiring>();
  let users = new Map<string, User>();
  let userTokens = new Map<string, Expiring & { userId: string }>();
  let tempTokens = new Map<string, Expiring & { userId: string; purpose: "verifyPin" | "forgotPin" }>();
  let txns = new Map<string, Txn>();
  let requestIds = new Set<string>();
  let trackers = new Set<string>();
  let lastBodies = new Map<string, Body>();
  let lastHeaders = new Map<string, Record<string, string | null>>();
  let recorded: RecordedCall[] = [];
  let stats = {
    sessionCalls: 0,
    sessionGrants: [] as string[],
    calls: {} as Record<string, number>,
    duplicateTrackers: 0,
    envelopeRejected: 0,
    seedRejected: 0,
  };

  const reset = () => {
    config = { ...startup };
    sessions = new Map();
    refreshTokens = new Map();
    users = new Map();
    userTokens = new Map();
    tempTokens = new Map();
    txns = new Map();
    requestIds = new Set();
    trackers = new Set();
    lastBodies = new Map();
    lastHeaders = new Map();
    recorded = [];
    stats = { sessionCalls: 0, sessionGrants: [], calls: {}, duplicateTrackers: 0, envelopeRejected: 0, seedRejected: 0 };
    addUser(DEFAULT_PROFILE);
  };

  function addUser(profile: SandboxProfile, password?: string): User {
    const user: User = { profile, password, aadhaarVerified: false, requests: userRequests(profile.id), notifications: 0 };
    users.set(profile.id, user);
    return user;
  }
  const findUser = (healthIdOrAddress: string) =>
    [...users.values()].find((u) => u.profile.id === healthIdOrAddress || u.profile.healthId === healthIdOrAddress);
  const live = <T extends Expiring>(m: Map<string, T>, key: string | undefined): T | undefined => {
    if (!key) return undefined;
    const v = m.get(key);
    return v && v.expiresAt > Date.now() ? v : undefined;
  };
  const issueUserToken = (userId: string) => {
    const token = randomId("sbx-user");
    userTokens.set(token, { userId, expiresAt: Date.now() + config.userTokenTtlSeconds * 1000 });
    return token;
  };
  const newTxn = (t: Omit<Txn, "otp" | "expiresAt">, id = crypto.randomUUID()) => {
    txns.set(id, { ...t, otp: otp6(), expiresAt: Date.now() + 10 * 60_000 });
    return id;
  };
  const checkOtp = (id: string | undefined, kind: Txn["kind"], given: unknown): Txn | string => {
    const t = live(txns, id);
    if (!t || t.kind !== kind) return FAIL.noTransaction;
    // The seed sends authenticationConfirm's authCode as a JSON number (leading zeros lost), others as strings.
    const matches = typeof given === "number" ? given === Number(t.otp) : String(given ?? "") === t.otp;
    if (!matches) return FAIL.invalidOtp;
    txns.delete(id!);
    return t;
  };
  /** The seed's answers cap a page at 100 (patientRequest asks for 105 and 198 and is answered 100). */
  const pageLimit = (v: unknown) => Math.min(100, Math.max(1, Number(v ?? 10) || 10));
  const listed = (all: any[], b: Body, statusKey: "status"): Answer => {
    const limit = pageLimit(b.limit);
    const offset = Math.max(0, Number(b.offset ?? 0) || 0);
    const filter = String(b.filter ?? "");
    // The seed's only filter is the word "status", answered with requests of every status. A status
    // name as the filter narrows the list (invented: the seed shows no other value); anything else,
    // "ALL" included, is refused.
    if (filter !== "status" && !REQUEST_STATUSES.includes(filter)) return { fail: FAIL.badRequest(`Invalid filter: ${filter}`) };
    const matching = filter === "status" ? all : all.filter((r) => r[statusKey] === filter);
    return { pd: { size: matching.length, offset, limit, requests: matching.slice(offset, offset + limit) } };
  };

  reset();

  /** The user behind `xAuthToken: "Bearer <t>"`. */
  const bearerUser = (b: Body): User | undefined => {
    const m = /^Bearer (\S+)$/.exec(typeof b.xAuthToken === "string" ? b.xAuthToken : "");
    const t = live(userTokens, m?.[1]);
    return t ? users.get(t.userId) : undefined;
  };
  /** The user behind a bare `xAuthTokenByVerifyPIN` (never with "Bearer "). */
  const tempUser = (b: Body, purpose: "verifyPin" | "forgotPin"): { user: User; token: string } | undefined => {
    const raw = typeof b.xAuthTokenByVerifyPIN === "string" ? b.xAuthTokenByVerifyPIN : "";
    const t = live(tempTokens, raw);
    if (!t || t.purpose !== purpose) return undefined;
    const user = users.get(t.userId);
    return user ? { user, token: raw } : undefined;
  };
  const gatewaySession = (b: Body) => live(sessions, typeof b.authorization === "string" ? b.authorization : undefined);

  type Handler = (b: Body) => Answer | Promise<Answer>;
  const userOp =
    (fn: (b: Body, u: User) => Answer | Promise<Answer>): Handler =>
    (b) => {
      const u = bearerUser(b);
      return u ? fn(b, u) : { fail: FAIL.unauthorized };
    };
  const gatewayOp =
    (fn: (b: Body) => Answer | Promise<Answer>): Handler =>
    (b) =>
      gatewaySession(b) ? fn(b) : { fail: FAIL.unauthorized };
  const freshRequestId = (b: Body): string | null => {
    const id = String(b.requestId ?? "");
    if (!id) return FAIL.badRequest("requestId is required");
    if (requestIds.has(id)) return FAIL.duplicateRequestId;
    requestIds.add(id);
    return null;
  };
  const hipInSources = (sources: unknown) => Array.isArray(sources) && sources.some((s) => s && typeof s === "object" && "hip" in s);

  const ops: Record<string, Handler> = {
    session: async (b) => {
      stats.sessionCalls++;
      stats.sessionGrants.push(b.grantType === "refresh_token" ? "refresh_token" : "client_credentials");
      if (b.grantType === "refresh_token" && config.refreshGrant !== "accept") {
        if (config.refreshGrant === "pe004") return { raw: Response.json(PE004) };
        if (config.refreshGrant === "internalError") return { raw: new Response("Internal Server Error", { status: 500 }) };
        await new Promise((r) => setTimeout(r, 3_000));
      }
      if (b.clientId !== clientId || b.clientSecret !== clientSecret) return { fail: FAIL.unauthorized };
      if (b.grantType === "refresh_token") {
        if (!live(refreshTokens, b.refreshToken)) return { fail: FAIL.unauthorized };
        refreshTokens.delete(b.refreshToken);
      }
      const accessToken = randomId("sbx-session");
      const refreshToken = randomId("sbx-refresh");
      sessions.set(accessToken, { expiresAt: Date.now() + config.sessionTtlSeconds * 1000 });
      refreshTokens.set(refreshToken, { expiresAt: Date.now() + config.refreshTtlSeconds * 1000 });
      return {
        pd: { ...seed<Body>("session"), expiresIn: config.sessionTtlSeconds, accessToken, refreshExpiresIn: config.refreshTtlSeconds, refreshToken },
      };
    },
    gatewaySession: (b) => {
      const u = findUser(String(b.username ?? ""));
      if (!u || !u.password || b.password !== u.password || b.grantType !== "password") return { fail: FAIL.invalidCredentials };
      return { pd: { token: `Bearer ${issueUserToken(u.profile.id)}` } };
    },
    patientAuthInit: (b) => {
      if (!["MOBILE_OTP", "AADHAAR_OTP", "DEMOGRAPHICS", "DIRECT"].includes(b.authMethod)) return { fail: FAIL.badRequest("Invalid auth method") };
      const u = findUser(String(b.healthid ?? ""));
      if (!u) return { fail: FAIL.unknownUser };
      return { pd: { ...seed<Body>("patientAuthInit"), txnId: newTxn({ kind: "auth", userId: u.profile.id }) } };
    },
    patientAuthConfirm: (b) => {
      const t = checkOtp(b.transactionId, "auth", b.authCode);
      if (typeof t === "string") return { fail: t };
      const u = users.get(t.userId)!;
      return {
        pd: {
          profile: profilePd(u.profile, { hasTransactionPin: !!u.pin, aadhaarVerified: u.aadhaarVerified }),
          status: null,
          token: issueUserToken(u.profile.id),
        },
      };
    },
    bridgeServices: gatewayOp((b) => {
      if (typeof b.id !== "string" || typeof b.name !== "string" || !["HIP", "HIU", "HEALTH_LOCKER"].includes(b.type))
        return { fail: FAIL.badRequest("Invalid service") };
      // invented: seed shows only a failure ("Internal Server Error")
      return { pd: { id: b.id, name: b.name, type: b.type, active: b.active === true, alias: Array.isArray(b.alias) ? b.alias : [] } };
    }),
    patientCompleteProfile: userOp((b, u) => {
      if (typeof b.password !== "string" || b.password.length === 0) return { fail: FAIL.badRequest("password is required") };
      if (b.healthid !== u.profile.healthId) return { fail: FAIL.unknownUser };
      u.password = b.password;
      return { pd: { token: `Bearer ${issueUserToken(u.profile.id)}` } };
    }),
    aadhaarGenerateOtp: userOp((b, u) => {
      if (typeof b.aadhaar !== "string" || !isAadhaarNumber(b.aadhaar)) return { fail: FAIL.invalidAadhaar };
      // invented: seed shows only a failure
      return { pd: { txnId: newTxn({ kind: "aadhaar", userId: u.profile.id }), mobileNumber: maskedMobile(u.profile.mobile) } };
    }),
    verifyAadhaarOtp: userOp((b, u) => {
      const t = checkOtp(b.txnId, "aadhaar", b.otp);
      if (typeof t === "string") return { fail: t };
      u.aadhaarVerified = true;
      // invented: seed shows only a failure
      return { pd: { txnId: b.txnId, aadhaarVerified: true } };
    }),
    patientApi: gatewayOp(() => ({ pd: seed("patientApi") })),
    listProviders: userOp((b) => {
      const name = String(b.name ?? "").toLowerCase();
      return { pd: providers().filter((p) => p.identifier.name.toLowerCase().includes(name)) };
    }),
    specificProviders: userOp((b) => {
      const p = providers().find((x) => x.identifier.id === b.providerId);
      return p ? { pd: p } : { fail: FAIL.unknownProvider };
    }),
    govtPrograms: userOp(() => ({ pd: seed("govtPrograms") })),
    discoverPatient: userOp((b, u) => {
      const dup = freshRequestId(b);
      if (dup) return { fail: dup };
      const link = u.requests.links.patient.links[0];
      const transactionId = newTxn({ kind: "link", userId: u.profile.id });
      // invented: seed shows only a failure (ABDM's discovery answer)
      return {
        pd: {
          transactionId,
          patient: { referenceNumber: link.referenceNumber, display: link.display, careContexts: link.careContexts, matchedBy: ["MOBILE"] },
        },
      };
    }),
    patientLinks: userOp((_b, u) => ({ pd: u.requests.links })),
    linkEnquiry: userOp((b, u) => {
      const dup = freshRequestId(b);
      if (dup) return { fail: dup };
      const t = live(txns, b.transactionId);
      if (!t || t.kind !== "link" || t.userId !== u.profile.id) return { fail: FAIL.noTransaction };
      const linkRef = String(b.patient?.referenceNumber ?? "");
      if (!linkRef) return { fail: FAIL.invalidLinkReference };
      newTxn({ kind: "link", userId: u.profile.id, linkRef }, `link:${linkRef}`);
      // invented: seed shows only a failure
      return {
        pd: {
          transactionId: b.transactionId,
          link: {
            referenceNumber: linkRef,
            authenticationType: "MEDIATE",
            meta: {
              communicationMedium: "MOBILE",
              communicationHint: maskedMobile(u.profile.mobile),
              communicationExpiry: new Date(Date.now() + 600_000).toISOString(),
            },
          },
        },
      };
    }),
    linkConfirm: userOp((b, u) => {
      const t = live(txns, `link:${b.linkRefNumber}`);
      if (!t || t.userId !== u.profile.id) return { fail: FAIL.invalidLinkReference };
      if (String(b.token ?? "") !== t.otp) return { fail: FAIL.invalidOtp };
      txns.delete(`link:${b.linkRefNumber}`);
      const link = u.requests.links.patient.links[0];
      // invented: seed shows only a failure
      return { pd: { patient: { referenceNumber: b.linkRefNumber, display: link.display, careContexts: link.careContexts } } };
    }),
    myProfile: userOp((_b, u) => ({ pd: profilePd(u.profile, { hasTransactionPin: !!u.pin, aadhaarVerified: u.aadhaarVerified }) })),
    createPin: userOp((b, u) => {
      if (u.pin) return { fail: FAIL.pinExists };
      if (!/^\d{4}$/.test(String(b.pin ?? ""))) return { fail: FAIL.badRequest("Invalid pin") };
      u.pin = b.pin;
      // invented: seed shows only a failure
      return { pd: "created" };
    }),
    verifyPin: userOp((b, u) => {
      const dup = freshRequestId(b);
      if (dup) return { fail: dup };
      if (!u.pin) return { fail: FAIL.noPin };
      if (b.pin !== u.pin) return { fail: FAIL.invalidPin };
      const temporaryToken = randomId("sbx-temp");
      tempTokens.set(temporaryToken, { userId: u.profile.id, purpose: "verifyPin", expiresAt: Date.now() + 5 * 60_000 });
      // invented: seed shows only a failure (ABDM answers a temporary token for the scope)
      return { pd: { temporaryToken } };
    }),
    changePin: (b) => {
      const t = tempUser(b, "verifyPin");
      if (!t) return { fail: FAIL.unauthorized };
      if (!/^\d{4}$/.test(String(b.pin ?? ""))) return { fail: FAIL.badRequest("Invalid pin") };
      t.user.pin = b.pin;
      tempTokens.delete(t.token);
      // invented: seed shows only a failure (updatePin's answer)
      return { pd: "updated" };
    },
    forgotPinGenerateOtp: userOp((_b, u) => {
      const sessionId = newTxn({ kind: "forgotPin", userId: u.profile.id });
      return { pd: { ...seed<Body>("forgotPinGenerateOtp"), sessionId, otpMediumValue: maskedMobile(u.profile.mobile) } };
    }),
    forgotPinValidateOtp: userOp((b, u) => {
      const t = checkOtp(b.sessionId, "forgotPin", b.value);
      if (typeof t === "string") return { fail: t };
      const temporaryToken = randomId("sbx-temp");
      tempTokens.set(temporaryToken, { userId: u.profile.id, purpose: "forgotPin", expiresAt: Date.now() + 5 * 60_000 });
      return { pd: { temporaryToken } };
    }),
    updatePin: (b) => {
      const t = tempUser(b, "forgotPin");
      if (!t) return { fail: FAIL.unauthorized };
      if (!/^\d{4}$/.test(String(b.pin ?? ""))) return { fail: FAIL.badRequest("Invalid pin") };
      t.user.pin = b.pin;
      tempTokens.delete(t.token);
      return { pd: seed("updatePin") };
    },
    profileShare: userOp((b, u) => {
      const dup = freshRequestId(b);
      if (dup) return { fail: dup };
      if (!b.hipDetails?.hipId || !b.hipDetails?.code) return { fail: FAIL.badRequest("hipDetails are required") };
      return { pd: { ...seed<Body>("profileShare"), healthId: u.profile.healthId } };
    }),
    patientRequest: userOp((b, u) => {
      // The seed sends status "ALL"; a status name narrows every list (invented).
      if (b.status !== "ALL" && !REQUEST_STATUSES.includes(b.status)) return { fail: FAIL.badRequest(`Invalid status: ${b.status}`) };
      const pd = seed<any>("patientRequest");
      const page = (all: any[], limit: unknown, offset: unknown) => {
        const l = pageLimit(limit);
        const o = Math.max(0, Number(offset ?? 0) || 0);
        const matching = b.status !== "ALL" ? all.filter((r) => (r.status ?? r.authorization?.status) === b.status) : all;
        return { size: matching.length, offset: o, limit: l, requests: matching.slice(o, o + l) };
      };
      for (const c of pd.consents.requests) c.patient.id = u.profile.id;
      return {
        pd: {
          subscriptions: page(u.requests.subscriptions, b.subscriptionLimit, b.subscriptionOffset),
          consents: page(pd.consents.requests, b.consentLimit, b.consentOffset),
          authorizations: page(u.requests.authorizations, b.authorizationLimit, b.authorizationOffset),
          lockerSetups: page(pd.lockerSetups.requests, b.lockerSetupLimit, b.lockerSetupOffset),
        },
      };
    }),
    patientLockers: userOp((b, u) => {
      if (b.lockerId !== undefined) {
        const locker = u.requests.lockers.find((l) => l.lockerId === b.lockerId);
        // invented: seed shows only a failure for this form (the locker's entry of the list form)
        return locker ? { pd: locker } : { fail: FAIL.noLockerSetup };
      }
      const all = b.includeInactive === "yes" ? u.requests.lockers : u.requests.lockers.filter((l) => l.active);
      return { pd: all };
    }),
    registerLocker: userOp(() => ({ pd: seed("registerLocker") })),
    subscriptionRequests: userOp((b, u) => listed(u.requests.subscriptions, b, "status")),
    denyRequests: userOp((b, u) => {
      const r = u.requests.subscriptions.find((s) => s.id === b.requestId);
      if (!r) return { fail: FAIL.noSubscriptionRequest };
      if (!b.reason) return { fail: FAIL.badRequest("reason is required") };
      r.status = "DENIED";
      // invented: seed shows only a failure
      return { pd: { requestId: r.id, status: r.status } };
    }),
    approveRequests: userOp((b, u) => {
      if (b.isApplicableForAllHIPs === "true" && (hipInSources(b.includedSources) || hipInSources(b.excludedSources)))
        return { fail: FAIL.hipNotAllowed };
      const r = u.requests.subscriptions.find((s) => s.id === b.requestId);
      if (!r) return { fail: FAIL.noSubscriptionRequest };
      r.status = "GRANTED";
      r.subscriptionId = r.subscriptionId ?? crypto.randomUUID();
      // invented: seed shows only a failure
      return { pd: { subscriptionId: r.subscriptionId } };
    }),
    editRequests: userOp((b, u) => {
      const edit = b.subscriptionEditAndApprovalRequest;
      const r = u.requests.subscriptions.find((s) => s.id === b.subscriptionId || s.subscriptionId === b.subscriptionId);
      if (!r) return { fail: FAIL.noSubscription };
      if (edit?.isApplicableForAllHIPs === "true" && (hipInSources(edit.includedSources) || hipInSources(edit.excludedSources)))
        return { fail: FAIL.hipNotAllowed };
      r.status = "GRANTED";
      r.subscriptionId = r.subscriptionId ?? crypto.randomUUID();
      // invented: seed shows only a failure
      return { pd: { subscriptionId: r.subscriptionId, status: r.status } };
    }),
    listAuthorizationRequests: userOp((b, u) => listed(u.requests.authorizations, b, "status")),
    grantAuthorizationRequests: userOp((b, u) => {
      const r = u.requests.authorizations.find((a) => a.requestId === b.requestId);
      if (!r) return { fail: FAIL.unknownAuthorization };
      if (r.status === "REQUESTED") {
        r.status = "GRANTED";
        r.lastUpdated = new Date().toISOString().replace("Z", "");
      }
      return { pd: { ...seed<Body>("grantAuthorizationRequests"), ...r, expiry: null } };
    }),
    approveAuthorizationRequests: userOp((b, u) => {
      const r = u.requests.authorizations.find((a) => a.requestId === b.requestId);
      if (!r) return { fail: FAIL.unknownAuthorization };
      if (r.status !== "REQUESTED") return { fail: FAIL.notRequested };
      r.status = "GRANTED";
      // invented: seed shows only a failure
      return { pd: { requestId: r.requestId, status: r.status, perpetual: b.generatePerpetualToken === "true" } };
    }),
    revokeAuthorizationRequests: userOp((b, u) => {
      const r = u.requests.authorizations.find((a) => a.requestId === b.requestId);
      if (!r) return { fail: FAIL.unknownAuthorization };
      if (r.status === "REVOKED") return { fail: FAIL.alreadyRevoked };
      if (r.status !== "GRANTED") return { fail: FAIL.notGranted };
      r.status = "REVOKED";
      // invented: seed shows only a failure
      return { pd: { requestId: r.requestId, status: r.status } };
    }),
    denyAuthorizationRequests: userOp((b, u) => {
      const r = u.requests.authorizations.find((a) => a.requestId === b.requestId);
      if (!r) return { fail: FAIL.unknownAuthorization };
      if (r.status !== "REQUESTED") return { fail: FAIL.notRequested };
      r.status = "DENIED";
      // invented: seed shows only a failure
      return { pd: { requestId: r.requestId, status: r.status } };
    }),
    approveLockerRequests: userOp((b) => {
      const parts = [b.subscription, b.autoApproval].filter(Boolean);
      if (parts.some((p) => p.isApplicableForAllHIPs === "true" && (hipInSources(p.includedSources) || hipInSources(p.excludedSources)))) {
        return { fail: FAIL.hipNotAllowed };
      }
      return { pd: seed("approveLockerRequests") };
    }),
    initializeAuthentication: gatewayOp((b) => {
      if (!config.clientRoles.includes(b.requester?.type)) return { fail: FAIL.invalidRole };
      const u = findUser(String(b.patientId ?? ""));
      if (!u) return { fail: FAIL.unknownUser };
      const transactionId = newTxn({ kind: "userAuth", userId: u.profile.id, requesterId: String(b.requester?.id ?? "") });
      // invented: seed shows only a failure (ABDM's users/auth on-init)
      return { pd: { transactionId, authMode: b.authMode, meta: { hint: null, expiry: new Date(Date.now() + 600_000).toISOString() } } };
    }),
    authenticationConfirm: gatewayOp((b) => {
      const pending = live(txns, b.transactionId);
      if (pending && pending.kind === "userAuth" && pending.requesterId !== b.requesterId) return { fail: FAIL.invalidRole };
      const t = checkOtp(b.transactionId, "userAuth", b.authCode);
      if (typeof t === "string") return { fail: t };
      const u = users.get(t.userId)!;
      // invented: seed shows only a failure (ABDM's users/auth on-confirm)
      return {
        pd: {
          accessToken: randomId("sbx-link"),
          patient: {
            id: u.profile.id,
            name: [u.profile.name.first, u.profile.name.last].filter(Boolean).join(" "),
            gender: u.profile.gender,
            yearOfBirth: u.profile.dateOfBirth.year,
          },
        },
      };
    }),
    getStates: () => ({ pd: seed("getStates") }),
    getDistrict: (b) => {
      const d = districts(String(b.stateCode ?? ""));
      return d ? { pd: d } : { fail: FAIL.invalidState };
    },
    appNotification: userOp((b, u) => {
      if (typeof b.appToken !== "string" || !b.period?.from || !b.status)
        return { fail: FAIL.badRequest("appToken, period and status are required") };
      u.notifications++;
      return { pd: seed("appNotification") };
    }),
    logout: userOp((b) => {
      const m = /^Bearer (\S+)$/.exec(b.xAuthToken);
      if (m) userTokens.delete(m[1]);
      return { pd: seed("logout") };
    }),
  };

  /** Checks the headers and the envelope against each other and the configuration. */
  function envelopeProblem(c: Context, body: Body): string | null {
    for (const k of ENVELOPE) if (!(k in body)) return `envelope field ${k} missing`;
    for (const k of ENVELOPE)
      if (k !== "did" && (typeof body[k] !== "string" || body[k] === "")) return `envelope field ${k} must be a non-empty string`;
    if (body.did !== null && typeof body.did !== "string") return "did must be a string or null";
    if (body.deptid !== deptId || c.req.header("deptid") !== deptId) return "deptid does not match";
    if (body.srvid !== serviceId || c.req.header("srvid") !== serviceId) return "srvid does not match";
    for (const k of ["subsid", "subsid2", "formtrkr"] as const) if (c.req.header(k) !== body[k]) return `${k} header does not match the body`;
    return null;
  }

  async function record(op: string, body: Body, c: Context, seedProblem: string | null) {
    const kept: Body = {};
    for (const [k, v] of Object.entries(body))
      kept[k] = SECRET_FIELDS.has(k) && (typeof v === "string" || typeof v === "number") ? `sha256:${await sha256(String(v))}` : v;
    lastBodies.set(op, kept);
    const headers: Record<string, string | null> = {};
    for (const h of ["deptid", "srvid", "subsid", "subsid2", "formtrkr", "content-type"]) headers[h] = c.req.header(h) ?? null;
    headers.authorization = `sha256:${await sha256(c.req.header("authorization") ?? "")}`;
    lastHeaders.set(op, headers);
    recorded.push({ op, body: kept, headers, seedProblem });
    if (recorded.length > MAX_RECORDED) recorded.splice(0, recorded.length - MAX_RECORDED);
  }

  const app = new Hono();
  const rsf = (pd: unknown) => ({ rs: "F", rc: "400", rd: GENERIC_RD, pd });

  app.get("/__sandbox/stats", (c) => c.json(stats));
  app.get("/__sandbox/calls/:op", (c) => c.json(recorded.filter((r) => r.op === c.req.param("op"))));
  app.get("/__sandbox/last/:op", (c) => {
    const b = lastBodies.get(c.req.param("op"));
    return b ? c.json(b) : c.json({ error: "no call recorded" }, 404);
  });
  app.get("/__sandbox/last-headers/:op", (c) => {
    const h = lastHeaders.get(c.req.param("op"));
    return h ? c.json(h) : c.json({ error: "no call recorded" }, 404);
  });
  app.get("/__sandbox/otp/:id", (c) => {
    const t = live(txns, c.req.param("id"));
    return t ? c.json({ otp: t.otp }) : c.json({ error: "no such transaction" }, 404);
  });
  app.post("/__sandbox/users", async (c) => {
    const b = ((await c.req.json().catch(() => ({}))) ?? {}) as Body;
    const n = ++userSequence;
    const phr = typeof b.phrAddress === "string" ? b.phrAddress : `user${n}.${Date.now().toString(36)}@sbx`;
    // 14 digits, unique for the sandbox's life: 91 + a 12-digit sequence.
    const digits = `91${String(n).padStart(12, "0")}`;
    const healthId =
      typeof b.healthId === "string" ? b.healthId : `${digits.slice(0, 2)}-${digits.slice(2, 6)}-${digits.slice(6, 10)}-${digits.slice(10)}`;
    const user = addUser({ ...DEFAULT_PROFILE, id: phr, healthId }, typeof b.password === "string" ? b.password : undefined);
    return c.json({ user: { id: user.profile.id, healthId: user.profile.healthId }, token: issueUserToken(phr) }, 201);
  });
  app.put("/__sandbox/config", async (c) => {
    config = { ...config, ...((await c.req.json()) as UmangRuntimeConfig) };
    return c.json(config);
  });
  app.post("/__sandbox/sessions/expire", async (c) => {
    const b = ((await c.req.json().catch(() => ({}))) ?? {}) as Body;
    for (const s of sessions.values()) s.expiresAt = 0;
    if (b.refresh) for (const r of refreshTokens.values()) r.expiresAt = 0;
    return c.body(null, 204);
  });
  app.post("/__sandbox/reset", (c) => {
    reset();
    return c.body(null, 204);
  });

  app.post("/ws1/1.0/:op", async (c) => {
    const op = c.req.param("op");
    stats.calls[op] = (stats.calls[op] ?? 0) + 1;
    const modeOn = (m: string[] | "*") => m === "*" || m.includes(op);
    if (modeOn(config.internalError)) return c.text("Internal Server Error", 500);
    if (c.req.header("authorization") !== `Bearer ${apiToken}`) {
      // The API manager in front of UMANG answers an unknown bearer itself, outside the envelope.
      return c.json(
        { fault: { code: 900901, message: "Invalid Credentials", description: "Make sure you have provided the correct security credentials" } },
        401,
      );
    }
    let body: Body;
    try {
      const parsed = await c.req.json();
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
      body = parsed as Body;
    } catch {
      return c.json(rsf("400 Bad Request: [no body]"));
    }
    const problem = envelopeProblem(c, body);
    if (problem) {
      stats.envelopeRejected++;
      return c.json({ rs: "F", rc: "PE001", rd: `Invalid request: ${problem}`, pd: null });
    }
    if (trackers.has(body.trkr)) stats.duplicateTrackers++;
    trackers.add(body.trkr);
    const fields: Body = { ...body };
    for (const k of ENVELOPE) delete fields[k];
    const seedProblem = seedShapeProblem(op, fields);
    await record(op, body, c, seedProblem);
    if (modeOn(config.pe004)) return c.json(PE004);
    const handler = ops[op];
    if (!handler) return c.json({ rs: "F", rc: "PE002", rd: "Sorry, the service is not available.", pd: null });
    if (seedProblem) {
      // invented: the seed shows no failure for a malformed body; the 400 form of its other failures
      stats.seedRejected++;
      return c.json(rsf(FAIL.badRequest(`Invalid request: ${seedProblem}`)));
    }
    const answer = await handler(fields);
    if ("raw" in answer) return answer.raw;
    if ("fail" in answer) return c.json(rsf(answer.fail));
    return c.json({ rs: "S", rc: "200", rd: "Success.", pd: answer.pd });
  });

  return {
    app,
    /** For in-process inspection (tests in Node). */
    stats: () => stats,
    reset,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
