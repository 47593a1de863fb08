import { z } from "@hono/zod-openapi";

/**
 * OpenAPI shapes of the answers: each route answers the op's `pd` as UMANG sends it (seed 001), so
 * these are documentation, loose (UMANG may add fields) and nullable where the seed shows nulls.
 */

const str = z.string().nullable();
const Identifier = z.object({ type: z.string(), value: z.string() });
const DateOfBirth = z.object({ date: z.number().int().nullable(), month: z.number().int().nullable(), year: z.number().int().nullable() });
const PersonName = z.object({ first: str, middle: str, last: str });
const Purpose = z.looseObject({ code: z.string(), text: str.optional(), refUri: str.optional() });
const Period = z.object({ from: z.string(), to: z.string() });
const Page = <T extends z.ZodType>(item: T) =>
  z.object({ size: z.number().int(), offset: z.number().int(), limit: z.number().int(), requests: z.array(item) });

export const State = z.object({ stateCode: z.string(), stateName: z.string() }).openapi("HealthState");
export const District = z.object({ code: z.string(), name: z.string() }).openapi("HealthDistrict");

export const Profile = z
  .looseObject({
    id: z.string(),
    healthId: str,
    name: PersonName,
    gender: str,
    dateOfBirth: DateOfBirth.nullable(),
    stateCode: str,
    stateName: str,
    districtCode: str,
    districtName: str,
    address: str,
    verifiedIdentifiers: z.array(Identifier).nullable(),
    unverifiedIdentifiers: z.array(Identifier).nullable(),
    aadhaarVerified: z.boolean().nullable(),
    hasTransactionPin: z.boolean().nullable(),
    profilePhoto: str,
  })
  .openapi("HealthProfile");

export const AuthInitAnswer = z.object({ txnId: z.string(), error: z.unknown().nullable() }).openapi("HealthAuthInitAnswer");
export const AuthConfirmAnswer = z
  .object({
    profile: Profile,
    status: z.unknown().nullable(),
    token: z.string().openapi({ description: "The user's token: send it as X-Health-Token" }),
  })
  .openapi("HealthAuthConfirmAnswer");
export const TokenAnswer = z.object({ token: z.string().openapi({ description: "`Bearer <the user's token>`" }) }).openapi("HealthTokenAnswer");
export const TemporaryToken = z
  .object({ temporaryToken: z.string().openapi({ description: "Send as X-Health-Token to the PIN change / reset route" }) })
  .openapi("HealthTemporaryToken");
export const Word = (example: string) => z.string().openapi({ example, description: "UMANG's one-word answer" });

export const Provider = z
  .looseObject({
    identifier: z.object({ name: z.string(), id: z.string() }),
    city: str,
    facilityType: z.array(z.string()),
    isHIP: z.boolean(),
    telephone: str,
    attributes: z.unknown().nullable(),
  })
  .openapi("HealthProvider");

const Endpoint = z.object({ address: z.string(), use: z.string(), connectionType: z.string() });
export const Locker = z
  .looseObject({
    lockerId: z.string(),
    lockerName: z.string(),
    patientId: z.string(),
    active: z.boolean(),
    endpoints: z.array(Endpoint),
    dateCreated: z.string(),
    dateModified: z.string(),
  })
  .openapi("HealthLocker");
export const LockerServices = z
  .object({
    offset: z.number().int(),
    size: z.number().int(),
    limit: z.number().int(),
    services: z.array(z.looseObject({ id: z.string(), name: z.string(), type: z.string(), active: z.boolean(), endpoints: z.array(Endpoint) })),
  })
  .openapi("HealthLockerServices");

export const AuthorizationRequest = z
  .looseObject({
    requestId: z.string(),
    authMode: str,
    requester: z.looseObject({ id: z.string(), name: str, type: str }),
    patientId: z.string(),
    purpose: Purpose,
    status: z.string(),
    createdAt: z.string(),
    lastUpdated: z.string(),
  })
  .openapi("HealthAuthorizationRequest");
export const SubscriptionRequest = z
  .looseObject({
    id: z.string(),
    subscriptionId: str,
    requesterType: str,
    hiu: z.looseObject({ id: z.string(), name: str }),
    patient: z.object({ id: z.string() }),
    purpose: Purpose,
    period: Period,
    categories: z.array(z.string()),
    hips: z.unknown().nullable(),
    status: z.string(),
    createdAt: z.string(),
    lastUpdated: z.string(),
  })
  .openapi("HealthSubscriptionRequest");
export const AuthorizationRequests = Page(AuthorizationRequest).openapi("HealthAuthorizationRequests");
export const SubscriptionRequests = Page(SubscriptionRequest).openapi("HealthSubscriptionRequests");
export const PatientRequests = z
  .object({
    consents: Page(z.looseObject({ id: z.string(), status: z.string(), hiTypes: z.array(z.string()), purpose: Purpose })),
    subscriptions: Page(SubscriptionRequest),
    authorizations: Page(AuthorizationRequest),
    lockerSetups: Page(z.looseObject({ authorization: AuthorizationRequest.nullable(), subscription: SubscriptionRequest.nullable() })),
  })
  .openapi("HealthPatientRequests");

export const PatientLinks = z
  .object({
    patient: z.object({
      id: z.string(),
      links: z.array(
        z.looseObject({
          referenceNumber: z.string(),
          display: str,
          careContexts: z.array(z.object({ referenceNumber: z.string(), display: str })),
          hip: z.looseObject({ id: z.string(), name: str, type: str }),
        }),
      ),
    }),
  })
  .openapi("HealthPatientLinks");

export const ForgotPinOtp = z
  .object({ sessionId: z.string(), otpMedium: z.string(), otpMediumValue: z.string(), expiryInMinutes: z.number().int(), authMode: str })
  .openapi("HealthForgotPinOtp");
export const ProfileShareAnswer = z.object({ healthId: z.string(), status: z.string() }).openapi("HealthProfileShareAnswer");
export const LockerApprovalAnswer = z
  .object({ autoApprovalId: str, authorizationId: str, subscriptionId: str })
  .openapi("HealthLockerApprovalAnswer");
