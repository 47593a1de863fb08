import { z } from "@hono/zod-openapi";
import { GatewayError } from "../../errors";
import * as R from "./responses";
import {
  Aadhaar,
  AUTH_METHODS,
  AUTH_PURPOSES,
  AutoApproval,
  Code,
  HealthId,
  IDENTIFIER_TYPES,
  Limit,
  Name,
  Offset,
  Otp,
  Password,
  Period,
  PhrAddress,
  Pin,
  REQUEST_FILTERS,
  REQUEST_STATUSES,
  REQUESTER_TYPES,
  SERVICE_TYPES,
  SourcesApproval,
  Uuid,
  wirePeriod,
  wireSource,
  wireSources,
} from "./schemas";

/**
 * Every UMANG / NDHM operation of seed 001 behind a clean route: one row per route. The table drives
 * the routes (src/http/routes/health), their validation, the translation to the op's body and the
 * OpenAPI document. `session` is not here: the gateway calls it itself (adapters/umang/session-token).
 */

/** How the end user's token (X-Health-Token) travels: `xAuthToken: "Bearer <t>"`, `xAuthTokenByVerifyPIN: "<t>"`, or not at all. */
export type UserToken = "xAuthToken" | "xAuthTokenByVerifyPIN" | "none";

type AnyObject = z.ZodType<Record<string, unknown>>;
type Out<T> = T extends z.ZodType ? z.output<T> : unknown;
type Wire = Record<string, unknown>;

/** Performs the op once with a wire body and answers its `pd`. */
export type OpCall = (wire: Wire) => Promise<unknown>;

export interface HealthOperation<P = unknown, Q = unknown, B = unknown> {
  /** A name for the route (operationId). */
  id: string;
  /** The UMANG op posted to `${UMANG_BASE_URL}/<op>`. */
  op: string;
  /** Which of the op's sections in seed 001 this route is, when the seed has two ("<op>#2"). */
  seedForm?: string;
  method: "get" | "post" | "put";
  path: string;
  summary: string;
  description?: string;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  userToken: UserToken;
  /**
   * Whether the body carries the gateway's `authorization` (the session op's accessToken): the op acts
   * with the gateway's own ABDM identity, so its route needs `health:bridge` besides `health`.
   */
  gatewayAuth: boolean;
  /** Clean input (params + query + body) → the op's body fields (the envelope and tokens are added by the adapter). */
  toWire: (input: P & Q & B) => Wire;
  /** When one route needs more than the single call (default: `call(toWire(input))`). */
  run?: (call: OpCall, input: P & Q & B) => Promise<unknown>;
  /** OpenAPI schema of the answer (the op's `pd`, passed through). */
  response?: z.ZodType;
}

/**
 * The scopes a route needs (CONTRACT §4): `health`, and `health:bridge` as well for the ops that carry
 * the gateway's session `authorization` (seed 001: bridgeServices, patientApi,
 * initializeAuthentication, authenticationConfirm), which act as the gateway's ABDM bridge for any
 * ABHA rather than for the user holding a token.
 */
export function requiredScopes(op: Pick<HealthOperation, "gatewayAuth">): ["health"] | ["health", "health:bridge"] {
  return op.gatewayAuth ? ["health", "health:bridge"] : ["health"];
}

function define<
  PS extends AnyObject | undefined = undefined,
  QS extends AnyObject | undefined = undefined,
  BS extends AnyObject | undefined = undefined,
>(d: Omit<HealthOperation<Out<PS>, Out<QS>, Out<BS>>, "params" | "query" | "body"> & { params?: PS; query?: QS; body?: BS }): HealthOperation {
  return d as unknown as HealthOperation;
}

const omitUndefined = (o: Wire): Wire => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const newRequestId = () => crypto.randomUUID();

// ---- reused input pieces ----------------------------------------------------------------------

const requestIdField = Uuid.optional().openapi({ description: "Idempotency id for ABDM (a UUID); the gateway mints one when absent" });
/**
 * Identifiers of a person's health records (ABHA numbers, PHR addresses, the ids of their consent,
 * subscription and authorization requests, link references) travel in JSON bodies, never in a URL:
 * URLs reach Cloudflare's invocation logs. So a route acting on one is a POST with the id in its
 * body; GET is kept for reads that carry no such id (reference data, facilities, the user's own
 * lists, whose user is the X-Health-Token).
 */
const requestIdInBody = { requestId: Uuid.openapi({ description: "The request's id (kept out of the URL)" }) };
const ListQuery = z.strictObject({
  limit: Limit(10),
  offset: Offset,
  status: z
    .enum(REQUEST_FILTERS)
    .optional()
    .openapi({ description: "Only requests in this status; absent or ALL: every status (sent as the op's `filter`)" }),
});
/**
 * The op's `filter`: seed 001 sends the literal "status" (and is answered with requests of every
 * status), so that is what goes out for "every status". A status name to narrow the list is a
 * departure: the seed shows no other value; ABDM's request lists filter by these status names.
 */
const wireFilter = (status: (typeof REQUEST_FILTERS)[number] | undefined) => (status === undefined || status === "ALL" ? "status" : status);
const listWire = (q: z.output<typeof ListQuery>) => ({ limit: String(q.limit), offset: String(q.offset), filter: wireFilter(q.status) });
const NoBody = undefined;

// ---- the table --------------------------------------------------------------------------------

export const HEALTH_OPERATIONS: HealthOperation[] = [
  // Authentication of the end user
  define({
    id: "healthLogin",
    op: "gatewaySession",
    method: "post",
    path: "/v1/health/auth/login",
    summary: "Sign a user in with PHR address and password (op gatewaySession); answers the user's token",
    body: z.strictObject({ username: PhrAddress, password: Password }).openapi("HealthLogin"),
    userToken: "none",
    gatewayAuth: false,
    toWire: (i) => ({ username: i.username, password: i.password, grantType: "password" }),
    response: R.TokenAnswer,
  }),
  define({
    id: "healthAuthInit",
    op: "patientAuthInit",
    method: "post",
    path: "/v1/health/auth/init",
    summary: "Start authenticating a user by ABHA number or PHR address (op patientAuthInit)",
    body: z.strictObject({ healthId: HealthId, authMethod: z.enum(AUTH_METHODS) }).openapi("HealthAuthInit"),
    userToken: "none",
    gatewayAuth: false,
    toWire: (i) => ({ authMethod: i.authMethod, healthid: i.healthId }),
    response: R.AuthInitAnswer,
  }),
  define({
    id: "healthAuthConfirm",
    op: "patientAuthConfirm",
    method: "post",
    path: "/v1/health/auth/confirm",
    summary: "Confirm the authentication with the OTP; answers the profile and the user's token (op patientAuthConfirm)",
    body: z
      .strictObject({
        transactionId: Uuid,
        // An OTP for MOBILE_OTP / AADHAAR_OTP; for DEMOGRAPHICS the demographic credential as UMANG takes it.
        authCode: z.union([Otp, z.string().min(8).max(512)]).openapi({ description: "The OTP, or the demographic credential", example: "548350" }),
      })
      .openapi("HealthAuthConfirm"),
    userToken: "none",
    gatewayAuth: false,
    toWire: (i) => ({ transactionId: i.transactionId, authCode: i.authCode }),
    response: R.AuthConfirmAnswer,
  }),
  define({
    id: "healthLogout",
    op: "logout",
    method: "post",
    path: "/v1/health/auth/logout",
    summary: "Sign the user out (op logout)",
    body: z.strictObject({ refreshToken: z.string().min(1).max(8192).optional() }).openapi("HealthLogout"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: R.Word("logout"),
    // Departure: the seed sends a refreshToken, but no op of the seed gives a user one; sent when the caller has it.
    toWire: (i) => omitUndefined({ refreshToken: i.refreshToken }),
  }),

  // Profile, Aadhaar, PIN
  define({
    id: "healthProfile",
    op: "myProfile",
    method: "get",
    path: "/v1/health/profile",
    summary: "The user's ABHA profile (op myProfile)",
    userToken: "xAuthToken",
    gatewayAuth: false,
    toWire: () => ({}),
    response: R.Profile,
  }),
  define({
    id: "healthCompleteProfile",
    op: "patientCompleteProfile",
    method: "post",
    path: "/v1/health/profile/complete",
    summary: "Complete the profile: PHR address, ABHA number and password (op patientCompleteProfile)",
    body: z.strictObject({ phrAddress: PhrAddress, healthId: HealthId, password: Password }).openapi("HealthCompleteProfile"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: R.TokenAnswer,
    toWire: (i) => ({ cmId: i.phrAddress, healthid: i.healthId, password: i.password }),
  }),
  define({
    id: "healthProfileShare",
    op: "profileShare",
    method: "post",
    path: "/v1/health/profile/share",
    summary: "Share the profile with a facility by its counter code (op profileShare)",
    body: z.strictObject({ requestId: requestIdField, hipId: Code("IN3410000238"), code: Code("12345") }).openapi("HealthProfileShare"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: R.ProfileShareAnswer,
    toWire: (i) => ({ requestId: i.requestId ?? newRequestId(), hipDetails: { hipId: i.hipId, code: i.code } }),
  }),
  define({
    id: "healthAadhaarOtp",
    op: "aadhaarGenerateOtp",
    method: "post",
    path: "/v1/health/aadhaar/otp",
    summary: "Send an OTP to the mobile linked with an Aadhaar number (op aadhaarGenerateOtp)",
    body: z.strictObject({ aadhaar: Aadhaar }).openapi("HealthAadhaarOtp"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    toWire: (i) => ({ aadhaar: i.aadhaar }),
  }),
  define({
    id: "healthAadhaarOtpVerify",
    op: "verifyAadhaarOtp",
    method: "post",
    path: "/v1/health/aadhaar/otp/verify",
    summary: "Verify the Aadhaar OTP (op verifyAadhaarOtp)",
    body: z.strictObject({ transactionId: Uuid, otp: Otp }).openapi("HealthAadhaarOtpVerify"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    toWire: (i) => ({ txnId: i.transactionId, otp: i.otp }),
  }),
  define({
    id: "healthCreatePin",
    op: "createPin",
    method: "post",
    path: "/v1/health/pin",
    summary: "Create the user's transaction PIN (op createPin)",
    body: z.strictObject({ pin: Pin }).openapi("HealthCreatePin"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    toWire: (i) => ({ pin: i.pin }),
  }),
  define({
    id: "healthVerifyPin",
    op: "verifyPin",
    method: "post",
    path: "/v1/health/pin/verify",
    summary: "Verify the PIN for a scope; answers a temporary token for that scope (op verifyPin)",
    body: z
      .strictObject({
        requestId: requestIdField,
        pin: Pin,
        scope: z
          .string()
          .regex(/^[a-z]+(\.[a-z]+)+$/, "an ABDM scope such as consent.approve or profile.changepin")
          .openapi({ example: "profile.changepin" }),
      })
      .openapi("HealthVerifyPin"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: R.TemporaryToken,
    toWire: (i) => ({ requestId: i.requestId ?? newRequestId(), pin: i.pin, scope: i.scope }),
  }),
  define({
    id: "healthChangePin",
    op: "changePin",
    method: "put",
    path: "/v1/health/pin",
    summary: "Change the PIN; X-Health-Token is the temporary token from PIN verification (op changePin)",
    body: z.strictObject({ pin: Pin }).openapi("HealthChangePin"),
    userToken: "xAuthTokenByVerifyPIN",
    gatewayAuth: false,
    response: R.Word("updated"),
    toWire: (i) => ({ pin: i.pin }),
  }),
  define({
    id: "healthForgotPinOtp",
    op: "forgotPinGenerateOtp",
    method: "post",
    path: "/v1/health/pin/forgot/otp",
    summary: "Forgotten PIN: send an OTP (op forgotPinGenerateOtp)",
    body: NoBody,
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: R.ForgotPinOtp,
    toWire: () => ({}),
  }),
  define({
    id: "healthForgotPinOtpVerify",
    op: "forgotPinValidateOtp",
    method: "post",
    path: "/v1/health/pin/forgot/otp/verify",
    summary: "Forgotten PIN: validate the OTP; answers a temporary token (op forgotPinValidateOtp)",
    body: z.strictObject({ sessionId: Uuid, otp: Otp }).openapi("HealthForgotPinOtpVerify"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: R.TemporaryToken,
    toWire: (i) => ({ sessionId: i.sessionId, value: i.otp }),
  }),
  define({
    id: "healthResetPin",
    op: "updatePin",
    method: "post",
    path: "/v1/health/pin/forgot/reset",
    summary: "Forgotten PIN: set a new one; X-Health-Token is the temporary token from the OTP step (op updatePin)",
    body: z.strictObject({ pin: Pin }).openapi("HealthResetPin"),
    userToken: "xAuthTokenByVerifyPIN",
    gatewayAuth: false,
    response: R.Word("updated"),
    toWire: (i) => ({ pin: i.pin }),
  }),

  // Facilities and programmes
  define({
    id: "healthProviders",
    op: "listProviders",
    method: "get",
    path: "/v1/health/providers",
    summary: "Search health facilities by name, state and district (op listProviders)",
    query: z.strictObject({ name: Name.max(100), stateCode: Code("10", 8), districtCode: Code("195", 8).optional() }),
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: z.array(R.Provider),
    // Departure: the seed's example names a district; ABDM's provider search filters by one only when
    // given, so a state-wide search leaves districtCode out rather than inventing one.
    toWire: (i) => omitUndefined({ name: i.name, stateCode: i.stateCode, districtCode: i.districtCode }),
  }),
  define({
    id: "healthProvider",
    op: "specificProviders",
    method: "get",
    path: "/v1/health/providers/{providerId}",
    summary: "One health facility (op specificProviders)",
    params: z.strictObject({ providerId: Code("IN0410000183").openapi({ param: { name: "providerId", in: "path" } }) }),
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: R.Provider,
    toWire: (i) => ({ providerId: i.providerId }),
  }),
  define({
    id: "healthGovernmentPrograms",
    op: "govtPrograms",
    method: "get",
    path: "/v1/health/government-programs",
    summary: "Government health programmes a user can link (op govtPrograms)",
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: z.array(R.Provider),
    toWire: () => ({}),
  }),
  define({
    id: "healthBridgeService",
    op: "bridgeServices",
    method: "put",
    path: "/v1/health/bridge-services/{serviceId}",
    summary: "Add or update one of the gateway's bridge services (HIP/HIU/locker) (op bridgeServices)",
    params: z.strictObject({ serviceId: Code("AMRIT_HIP").openapi({ param: { name: "serviceId", in: "path" } }) }),
    body: z
      .strictObject({ name: Name, type: z.enum(SERVICE_TYPES), active: z.boolean().default(true), alias: z.array(Name).max(20).default([]) })
      .openapi("HealthBridgeService"),
    userToken: "none",
    gatewayAuth: true,
    toWire: (i) => ({ id: i.serviceId, name: i.name, type: i.type, active: i.active, alias: i.alias }),
  }),
  define({
    id: "healthGatewayPatient",
    op: "patientApi",
    method: "get",
    path: "/v1/health/patient",
    summary: "The patient record the gateway's session resolves to (op patientApi: no input besides the session)",
    userToken: "none",
    gatewayAuth: true,
    toWire: () => ({}),
  }),
  define({
    id: "healthUserAuthInit",
    op: "initializeAuthentication",
    method: "post",
    path: "/v1/health/users/auth/init",
    summary: "As HIP/HIU: start authenticating a patient for a purpose (op initializeAuthentication)",
    body: z
      .strictObject({
        patientId: z.union([PhrAddress, HealthId]),
        purpose: z.enum(AUTH_PURPOSES),
        authMode: z.enum(AUTH_METHODS),
        requester: z.strictObject({ type: z.enum(REQUESTER_TYPES), id: Code("IN0400XX") }),
      })
      .openapi("HealthUserAuthInit"),
    userToken: "none",
    gatewayAuth: true,
    toWire: (i) => ({ patientId: i.patientId, purpose: i.purpose, authMode: i.authMode, requester: { type: i.requester.type, id: i.requester.id } }),
  }),
  define({
    id: "healthUserAuthConfirm",
    op: "authenticationConfirm",
    method: "post",
    path: "/v1/health/users/auth/confirm",
    summary: "As HIP/HIU: confirm the patient's authentication with the OTP (op authenticationConfirm)",
    body: z.strictObject({ transactionId: Uuid, authCode: Otp, requesterId: Code("IN0400XX") }).openapi("HealthUserAuthConfirm"),
    userToken: "none",
    gatewayAuth: true,
    // Departure: the seed sends authCode as a JSON number; a string keeps an OTP's leading zeros (as a
    // number 012345 would arrive as 12345). Common JSON binders (Jackson's default) read a digit string
    // into a numeric field; not yet verified against the live portal.
    toWire: (i) => ({ transactionId: i.transactionId, authCode: i.authCode, requesterId: i.requesterId }),
  }),

  // Care contexts and links
  define({
    id: "healthDiscover",
    op: "discoverPatient",
    method: "post",
    path: "/v1/health/care-contexts/discover",
    summary: "Discover the user's records at a facility (op discoverPatient)",
    body: z
      .strictObject({
        requestId: requestIdField,
        hipId: Code("IN3410000238"),
        unverifiedIdentifiers: z
          .array(z.strictObject({ type: z.enum(IDENTIFIER_TYPES), value: z.string().trim().min(1).max(64) }))
          .max(10)
          .default([]),
      })
      .openapi("HealthDiscover"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    toWire: (i) => ({ requestId: i.requestId ?? newRequestId(), hip: { id: i.hipId }, unverifiedIdentifiers: i.unverifiedIdentifiers }),
  }),
  define({
    id: "healthLinks",
    op: "patientLinks",
    method: "get",
    path: "/v1/health/links",
    summary: "The care contexts linked to the user (op patientLinks)",
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: R.PatientLinks,
    toWire: () => ({}),
  }),
  define({
    id: "healthLinkInit",
    op: "linkEnquiry",
    method: "post",
    path: "/v1/health/links",
    summary: "Ask to link discovered care contexts; an OTP goes to the user (op linkEnquiry)",
    body: z
      .strictObject({
        requestId: requestIdField,
        transactionId: Uuid,
        patientReference: Code("11012"),
        careContextReferences: z.array(Code("15372")).min(1).max(100),
      })
      .openapi("HealthLinkInit"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    toWire: (i) => ({
      requestId: i.requestId ?? newRequestId(),
      transactionId: i.transactionId,
      patient: { referenceNumber: i.patientReference, careContexts: i.careContextReferences.map((referenceNumber) => ({ referenceNumber })) },
    }),
  }),
  define({
    id: "healthLinkConfirm",
    op: "linkConfirm",
    method: "post",
    path: "/v1/health/links/confirm",
    summary: "Confirm a link with the OTP (op linkConfirm)",
    body: z.strictObject({ linkReference: Code("11012"), otp: Otp }).openapi("HealthLinkConfirm"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    toWire: (i) => ({ token: i.otp, linkRefNumber: i.linkReference }),
  }),

  // Requests: consents, subscriptions, authorizations, locker setups
  define({
    id: "healthRequests",
    op: "patientRequest",
    method: "get",
    path: "/v1/health/requests",
    summary: "The user's consent, subscription, authorization and locker-setup requests, paged per kind (op patientRequest)",
    // The seed asks for 105 and 198 (UMANG answers pages of at most 100): limits pass through.
    query: z.strictObject({
      consentLimit: Limit(10),
      consentOffset: Offset,
      subscriptionLimit: Limit(10),
      subscriptionOffset: Offset,
      authorizationLimit: Limit(10),
      authorizationOffset: Offset,
      lockerSetupLimit: Limit(10),
      lockerSetupOffset: Offset,
      // The seed sends "ALL"; this op's field is `status`, unlike the lists' `filter`.
      status: z.enum(REQUEST_FILTERS).default("ALL"),
    }),
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: R.PatientRequests,
    toWire: (i) => ({
      consentLimit: String(i.consentLimit),
      consentOffset: String(i.consentOffset),
      lockerSetupLimit: String(i.lockerSetupLimit),
      lockerSetupOffset: String(i.lockerSetupOffset),
      subscriptionLimit: String(i.subscriptionLimit),
      subscriptionOffset: String(i.subscriptionOffset),
      authorizationLimit: String(i.authorizationLimit),
      authorizationOffset: String(i.authorizationOffset),
      status: i.status,
    }),
  }),
  define({
    id: "healthSubscriptionRequests",
    op: "subscriptionRequests",
    method: "get",
    path: "/v1/health/subscription-requests",
    summary: "The user's subscription requests (op subscriptionRequests, list form)",
    query: ListQuery,
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: R.SubscriptionRequests,
    toWire: listWire,
  }),
  define({
    id: "healthSubscriptionRequest",
    op: "subscriptionRequests",
    method: "post",
    path: "/v1/health/subscription-requests/lookup",
    seedForm: "subscriptionRequests#2",
    summary: "One subscription request (op subscriptionRequests, details form)",
    description:
      "Seed 001's 'Subscription Details' form posts the same fields as the list (limit, offset, filter); the gateway pages " +
      "through the list (100 a page, at most 10 pages) and answers the request with this id, or 404 NOT_FOUND. " +
      "A POST so that the id stays out of the URL.",
    body: z.strictObject(requestIdInBody).openapi("HealthSubscriptionRequestLookup"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: R.SubscriptionRequest,
    toWire: () => ({ limit: "100", offset: "0", filter: wireFilter(undefined) }),
    run: async (call, i) => findInPages(call, i.requestId, "subscription request"),
  }),
  define({
    id: "healthDenySubscriptionRequest",
    op: "denyRequests",
    method: "post",
    path: "/v1/health/subscription-requests/deny",
    summary: "Deny a subscription request (op denyRequests)",
    body: z.strictObject({ ...requestIdInBody, reason: z.string().trim().min(1).max(500) }).openapi("HealthDenyRequest"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    toWire: (i) => ({ requestId: i.requestId, reason: i.reason }),
  }),
  define({
    id: "healthApproveSubscriptionRequest",
    op: "approveRequests",
    method: "post",
    path: "/v1/health/subscription-requests/approve",
    summary: "Approve a subscription request for all or named HIPs (op approveRequests)",
    body: SourcesApproval.extend(requestIdInBody).openapi("HealthApproveRequest"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    toWire: (i) => ({ ...wireSources(i), requestId: i.requestId }),
  }),
  define({
    id: "healthEditSubscription",
    op: "editRequests",
    method: "post",
    path: "/v1/health/subscriptions/edit",
    summary: "Edit and approve a subscription (op editRequests)",
    body: SourcesApproval.extend({
      subscriptionId: Uuid.openapi({ description: "The subscription's id (kept out of the URL)" }),
      hiuId: Code("Test-HIU"),
    }).openapi("HealthEditSubscription"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    toWire: (i) => ({
      hiuId: i.hiuId,
      subscriptionEditAndApprovalRequest: wireSources(i),
      subscriptionId: i.subscriptionId,
    }),
  }),
  define({
    id: "healthAuthorizationRequests",
    op: "listAuthorizationRequests",
    method: "get",
    path: "/v1/health/authorization-requests",
    summary: "The user's authorization requests (op listAuthorizationRequests)",
    query: ListQuery,
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: R.AuthorizationRequests,
    toWire: listWire,
  }),
  define({
    id: "healthGrantAuthorizationRequest",
    op: "grantAuthorizationRequests",
    method: "post",
    path: "/v1/health/authorization-requests/grant",
    summary: "Grant an authorization request; answers the request (op grantAuthorizationRequests)",
    body: z.strictObject(requestIdInBody).openapi("HealthGrantAuthorization"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: R.AuthorizationRequest,
    toWire: (i) => ({ requestId: i.requestId }),
  }),
  define({
    id: "healthApproveAuthorizationRequest",
    op: "approveAuthorizationRequests",
    method: "post",
    path: "/v1/health/authorization-requests/approve",
    summary: "Approve an authorization request, optionally with a perpetual token (op approveAuthorizationRequests)",
    body: z.strictObject({ ...requestIdInBody, generatePerpetualToken: z.boolean().default(false) }).openapi("HealthApproveAuthorization"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    toWire: (i) => ({ requestId: i.requestId, generatePerpetualToken: String(i.generatePerpetualToken) }),
  }),
  define({
    id: "healthRevokeAuthorizationRequest",
    op: "revokeAuthorizationRequests",
    method: "post",
    path: "/v1/health/authorization-requests/revoke",
    summary: "Revoke a granted authorization (op revokeAuthorizationRequests)",
    body: z.strictObject(requestIdInBody).openapi("HealthRevokeAuthorization"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    toWire: (i) => ({ requestId: i.requestId }),
  }),
  define({
    id: "healthDenyAuthorizationRequest",
    op: "denyAuthorizationRequests",
    method: "post",
    path: "/v1/health/authorization-requests/deny",
    summary: "Deny an authorization request (op denyAuthorizationRequests)",
    body: z.strictObject(requestIdInBody).openapi("HealthDenyAuthorization"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    toWire: (i) => ({ requestId: i.requestId }),
  }),

  // Health lockers
  define({
    id: "healthLockers",
    op: "patientLockers",
    method: "get",
    path: "/v1/health/lockers",
    summary: "The user's health lockers (op patientLockers, the seed's form without parameters)",
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: z.array(R.Locker),
    toWire: () => ({}),
  }),
  define({
    id: "healthLockersSearch",
    op: "patientLockers",
    method: "post",
    path: "/v1/health/lockers/search",
    summary: "A patient's health lockers, inactive ones too if asked (op patientLockers with patientId and includeInactive)",
    description: "A POST so that the patient's id stays out of the URL.",
    body: z
      .strictObject({
        patientId: z.union([PhrAddress, HealthId]).openapi({ description: "ABHA number or PHR address (kept out of the URL)" }),
        includeInactive: z.boolean().default(false),
      })
      .openapi("HealthLockersSearch"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: z.array(R.Locker),
    // The seed sends "yes"/"no" strings ("no" in its example).
    toWire: (i) => ({ patientId: i.patientId, includeInactive: i.includeInactive ? "yes" : "no" }),
  }),
  define({
    id: "healthLocker",
    op: "patientLockers",
    method: "get",
    path: "/v1/health/lockers/{lockerId}",
    seedForm: "patientLockers#2",
    summary: "One of the user's health lockers (op patientLockers, with lockerId)",
    params: z.strictObject({ lockerId: Code("driefcasehl").openapi({ param: { name: "lockerId", in: "path" } }) }),
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: R.Locker,
    toWire: (i) => ({ lockerId: i.lockerId }),
  }),
  define({
    id: "healthLockerServices",
    op: "registerLocker",
    method: "get",
    path: "/v1/health/locker-services",
    summary: "The health lockers a user can register with (op registerLocker)",
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: R.LockerServices,
    toWire: () => ({}),
  }),
  define({
    id: "healthApproveLockerRequest",
    op: "approveLockerRequests",
    method: "post",
    path: "/v1/health/locker-requests/approve",
    summary: "Approve a locker setup: its subscription, auto-approval and authorization (op approveLockerRequests)",
    body: z
      .strictObject({
        subscription: SourcesApproval.extend({ requestId: Uuid }).optional(),
        autoApproval: AutoApproval.optional(),
        authorization: z.strictObject({ requestId: Uuid, generatePerpetualToken: z.boolean().default(false) }).optional(),
      })
      .refine((b) => b.subscription || b.autoApproval || b.authorization, "give at least one of subscription, autoApproval, authorization")
      .openapi("HealthApproveLockerRequest"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: R.LockerApprovalAnswer,
    // Departure: the seed's example approves all three parts at once; each part the caller gives is sent.
    toWire: (i) =>
      omitUndefined({
        subscription: i.subscription ? { requestId: i.subscription.requestId, ...wireSources(i.subscription) } : undefined,
        autoApproval: i.autoApproval
          ? {
              isApplicableForAllHIPs: String(i.autoApproval.isApplicableForAllHips),
              hiu: { id: i.autoApproval.hiu.id, ...(i.autoApproval.hiu.name !== undefined ? { name: i.autoApproval.hiu.name } : {}) },
              includedSources: i.autoApproval.includedSources.map(wireSource),
              excludedSources: i.autoApproval.excludedSources.map(wireSource),
            }
          : undefined,
        authorization: i.authorization
          ? { requestId: i.authorization.requestId, generatePerpetualToken: String(i.authorization.generatePerpetualToken) }
          : undefined,
      }),
  }),

  // Reference data and notifications
  define({
    id: "healthStates",
    op: "getStates",
    method: "get",
    path: "/v1/health/states",
    summary: "States and union territories with their codes (op getStates)",
    userToken: "none",
    gatewayAuth: false,
    toWire: () => ({}),
    response: z.array(R.State),
  }),
  define({
    id: "healthDistricts",
    op: "getDistrict",
    method: "get",
    path: "/v1/health/states/{stateCode}/districts",
    summary: "Districts of a state (op getDistrict)",
    params: z.strictObject({
      stateCode: z
        .string()
        .regex(/^\d{1,3}$/, "a numeric state code")
        .openapi({ param: { name: "stateCode", in: "path" }, example: "10" }),
    }),
    userToken: "none",
    gatewayAuth: false,
    toWire: (i) => ({ stateCode: i.stateCode }),
    response: z.array(R.District),
  }),
  define({
    id: "healthNotifications",
    op: "appNotification",
    method: "post",
    path: "/v1/health/notifications",
    summary: "Register the app's push token for notifications about requests in a status and period (op appNotification)",
    body: z.strictObject({ appToken: z.string().min(1).max(4096), period: Period, status: z.enum(REQUEST_STATUSES) }).openapi("HealthNotifications"),
    userToken: "xAuthToken",
    gatewayAuth: false,
    response: R.Word("Saved"),
    toWire: (i) => ({ appToken: i.appToken, period: wirePeriod(i.period), status: i.status }),
  }),
];

/** The UMANG ops of seed 001 (43 names), `session` included: used by tests and the sandbox. */
export const SEED_OPS = [
  "session",
  "gatewaySession",
  "patientAuthInit",
  "patientAuthConfirm",
  "bridgeServices",
  "patientCompleteProfile",
  "aadhaarGenerateOtp",
  "verifyAadhaarOtp",
  "patientApi",
  "listProviders",
  "specificProviders",
  "govtPrograms",
  "discoverPatient",
  "patientLinks",
  "linkEnquiry",
  "linkConfirm",
  "myProfile",
  "createPin",
  "verifyPin",
  "changePin",
  "forgotPinGenerateOtp",
  "forgotPinValidateOtp",
  "updatePin",
  "profileShare",
  "patientRequest",
  "patientLockers",
  "registerLocker",
  "subscriptionRequests",
  "denyRequests",
  "approveRequests",
  "editRequests",
  "listAuthorizationRequests",
  "grantAuthorizationRequests",
  "approveAuthorizationRequests",
  "revokeAuthorizationRequests",
  "denyAuthorizationRequests",
  "approveLockerRequests",
  "initializeAuthentication",
  "authenticationConfirm",
  "getStates",
  "getDistrict",
  "appNotification",
  "logout",
] as const;

async function findInPages(call: OpCall, id: string, what: string): Promise<unknown> {
  const limit = 100;
  for (let page = 0; page < 10; page++) {
    const pd = (await call({ limit: String(limit), offset: String(page * limit), filter: wireFilter(undefined) })) as {
      size?: number;
      requests?: Array<{ id?: string; requestId?: string }>;
    } | null;
    const requests = Array.isArray(pd?.requests) ? pd!.requests : [];
    const hit = requests.find((r) => r?.id === id || r?.requestId === id);
    if (hit) return hit;
    const size = typeof pd?.size === "number" ? pd.size : 0;
    if (requests.length < limit || (page + 1) * limit >= size) break;
  }
  throw new GatewayError("NOT_FOUND", `${what} not found`);
}
