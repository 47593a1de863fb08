import { SEED_FAILURES, SEED_SUCCESS } from "./seed-fixtures";

/**
 * Fixtures of the UMANG sandbox. Seed shapes come from seed-fixtures.ts (cleaned from the seed's
 * examples); where the seed shows only a failure for an op, the success shape here is invented and
 * marked so.
 */

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
export const seed = <T = any>(key: string): T => clone(SEED_SUCCESS[key]) as T;

/** `rs:"F"` as the seed writes it: rc "400", a generic rd, the cause in `pd`. */
export const GENERIC_RD = "An internal error occurred. Pls try again later.";

/** The failure strings: the seed's own where it has one; the others invented (marked). */
export const FAIL = {
  unauthorized: "401 Unauthorized: [no body]",
  duplicateRequestId: SEED_FAILURES.discoverPatient!, // 1412
  noTransaction: SEED_FAILURES.linkEnquiry!, // 1427 Failed to get transaction Id
  invalidLinkReference: SEED_FAILURES.linkConfirm!, // 1413
  pinExists: SEED_FAILURES.createPin!, // 1424
  noLockerSetup: SEED_FAILURES["patientLockers#2"]!, // 1417
  noSubscriptionRequest: SEED_FAILURES.denyRequests!, // 1415
  hipNotAllowed: SEED_FAILURES.approveRequests!, // 1514
  noSubscription: SEED_FAILURES.editRequests!, // 1450
  notRequested: SEED_FAILURES.approveAuthorizationRequests!, // 1411
  alreadyRevoked: SEED_FAILURES.revokeAuthorizationRequests!, // 1510
  invalidRole: SEED_FAILURES.initializeAuthentication!, // 1401
  // invented: seed shows no failure for these causes
  invalidOtp: failure(400, "Bad Request", 1441, "Invalid OTP"),
  invalidPin: failure(400, "Bad Request", 1442, "Invalid transaction pin"),
  noPin: failure(400, "Bad Request", 1443, "Transaction pin is not created"),
  invalidCredentials: failure(401, "Unauthorized", 1401, "Invalid username or password"),
  unknownUser: failure(404, "Not Found", 1404, "Cannot find the user"),
  unknownProvider: failure(404, "Not Found", 1409, "Cannot find the provider"),
  unknownAuthorization: failure(404, "Not Found", 1416, "Cannot find the authorization request"),
  notGranted: failure(409, "Conflict", 1411, "Authorization request is not in GRANTED state"),
  invalidState: failure(400, "Bad Request", 1400, "Invalid state code"),
  invalidAadhaar: failure(400, "Bad Request", 1400, "Invalid Aadhaar number"),
  badRequest: (message: string) => failure(400, "Bad Request", 1000, message),
};

/** Builds a failure string in the seed's form: `<status> <reason>: [{"error":{"code":…,"message":…}}]`. */
export function failure(status: number, reason: string, code: number, message: string): string {
  return `${status} ${reason}: ${JSON.stringify([{ error: { code, message } }])}`;
}

/** UMANG's own failure (CONTRACT §6: `{"rs":"F","rc":"PE004","rd":"Sorry, …","pd":null}`). */
export const PE004 = { rs: "F", rc: "PE004", rd: "Sorry, we are unable to process your request at the moment. Please try again later.", pd: null };

export interface SandboxProfile {
  id: string;
  healthId: string;
  name: { first: string | null; middle: string | null; last: string | null };
  gender: string;
  dateOfBirth: { date: number; month: number; year: number };
  stateCode: string;
  stateName: string;
  districtCode: string;
  districtName: string;
  mobile: string;
}

/** The profile of the seed's example user (patientAuthConfirm / myProfile). */
export const DEFAULT_PROFILE: SandboxProfile = (() => {
  const p = seed<any>("myProfile");
  return {
    id: p.id,
    healthId: p.healthId,
    name: p.name,
    gender: p.gender,
    dateOfBirth: p.dateOfBirth,
    stateCode: p.stateCode,
    stateName: p.stateName,
    districtCode: p.districtCode,
    districtName: p.districtName,
    mobile: p.verifiedIdentifiers[0].value,
  };
})();

/** myProfile's shape (seed) for a sandbox user. */
export function profilePd(p: SandboxProfile, flags: { hasTransactionPin: boolean; aadhaarVerified: boolean }) {
  return {
    verifiedIdentifiers: [{ type: "MOBILE", value: p.mobile }],
    address: null,
    districtCode: p.districtCode,
    aadhaarVerified: flags.aadhaarVerified,
    gender: p.gender,
    districtName: p.districtName,
    dateOfBirth: p.dateOfBirth,
    healthId: p.healthId,
    hasTransactionPin: flags.hasTransactionPin,
    profilePhoto: null,
    stateName: p.stateName,
    name: p.name,
    unverifiedIdentifiers: null,
    stateCode: p.stateCode,
    id: p.id,
  };
}

export const maskedMobile = (mobile: string) => `******${mobile.slice(-4)}`;

/** Provider directory: listProviders' and specificProviders' entries (seed). */
export function providers(): any[] {
  const list = seed<any[]>("listProviders");
  const specific = seed<any>("specificProviders");
  if (!list.some((p) => p.identifier.id === specific.identifier.id)) list.push(specific);
  return list;
}

/** A user's lockers (seed: patientLockers), authorization and subscription requests (seed), plus
 *  one request of each kind in REQUESTED state so the approve/deny paths can succeed (invented). */
export function userRequests(userId: string) {
  const authorization = seed<any>("listAuthorizationRequests").requests[0];
  authorization.patientId = userId;
  const subscription = seed<any>("subscriptionRequests").requests[0];
  subscription.patient.id = userId;
  // invented: seed shows only requests already decided
  const pendingAuthorization = {
    ...clone(authorization),
    requestId: "5f0f6a3c-52a4-4f0b-9a4e-0d6f5e2b8c11",
    createdAt: "2026-01-05T09:00:00.000000",
    lastUpdated: "2026-01-05T09:00:00.000000",
    status: "REQUESTED",
  };
  // invented: seed shows only requests already decided
  const pendingSubscription = {
    ...clone(subscription),
    id: "9d3c8f52-7e0a-4c61-8f4b-2a1e6b7c9d20",
    createdAt: "2026-01-05T09:00:00.000000",
    lastUpdated: "2026-01-05T09:00:00.000000",
    status: "REQUESTED",
  };
  return {
    authorizations: [authorization, pendingAuthorization] as any[],
    subscriptions: [subscription, pendingSubscription] as any[],
    lockers: seed<any[]>("patientLockers"),
    links: seed<any>("patientLinks"),
  };
}

/** Districts per state code: Bihar's from the seed; other known states answer an empty list. */
export function districts(stateCode: string): any[] | null {
  const states = seed<Array<{ stateCode: string }>>("getStates");
  if (!states.some((s) => s.stateCode === stateCode)) return null;
  return stateCode === "10" ? seed<any[]>("getDistrict") : [];
}
