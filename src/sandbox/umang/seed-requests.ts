/**
 * The request bodies of seed 001 (envelope fields left out), one entry per op section and a second
 * section of the same op as "<op>#2"; an op with several examples in one section has several forms.
 * Generated once from the seed's "Request Parameter" examples and cleaned by hand: the document's
 * non-breaking spaces removed, its tokens, secrets and credentials replaced by "<…>" placeholders.
 * The sandbox checks every body it receives against these shapes (field names and JSON types), so
 * it follows the seed rather than whatever the gateway happens to send.
 */

/* eslint-disable */
export const SEED_REQUESTS: Record<string, Record<string, unknown>[]> = {
  session: [{ clientId: "SBX_001253", clientSecret: "<client secret>" }],
  gatewaySession: [{ username: "shahnawaz123@sbx", password: "<password>", grantType: "password" }],
  patientAuthInit: [{ authMethod: "MOBILE_OTP", healthid: "73-7854-0707-4044" }],
  patientAuthConfirm: [{ transactionId: "bb599f8b-76f7-4eaf-bac7-aead4bc585d6", authCode: "548350" }],
  bridgeServices: [{ id: "SBX_001253_HIP", name: "UMANG1", type: "HIP", active: true, alias: ["HIP"], authorization: "<gateway session token>" }],
  patientCompleteProfile: [{ cmId: "shahnawaz123@sbx", healthid: "73-7854-0707-4044", password: "<password>", xAuthToken: "Bearer <user token>" }],
  aadhaarGenerateOtp: [{ aadhaar: "<aadhaar number>", xAuthToken: "Bearer <user token>" }],
  verifyAadhaarOtp: [{ txnId: "aa217d2d-c1a7-43f5-8302-46de76220154", otp: "", xAuthToken: "Bearer <user token>" }],
  patientApi: [{ authorization: "<gateway session token>" }],
  listProviders: [{ name: "z", stateCode: "37", districtCode: "6", xAuthToken: "Bearer <user token>" }],
  specificProviders: [{ providerId: "IN0410000183", xAuthToken: "Bearer <user token>" }],
  govtPrograms: [{ xAuthToken: "Bearer <user token>" }],
  discoverPatient: [
    {
      requestId: "3fa85f64-5717-4562-b3fc-2c963f66afa6",
      hip: { id: "string" },
      unverifiedIdentifiers: [{ type: "MOBILE", value: "+919800083232" }],
      xAuthToken: "Bearer <user token>",
    },
  ],
  patientLinks: [{ xAuthToken: "Bearer <user token>" }],
  linkEnquiry: [
    {
      requestId: "3fa85f64-5717-4562-b3fc-2c963f66afa6",
      transactionId: "236cdb3d-4ec3-4a68-a16e-6daeed2314dd",
      patient: { referenceNumber: "11012", careContexts: [{ referenceNumber: "15372" }] },
      xAuthToken: "Bearer <user token>",
    },
  ],
  linkConfirm: [{ token: "748632", linkRefNumber: "11012", xAuthToken: "Bearer <user token>" }],
  myProfile: [{ xAuthToken: "Bearer <user token>" }],
  createPin: [{ pin: "1234", xAuthToken: "Bearer <user token>" }],
  verifyPin: [{ requestId: "8ef71594-a629-4b4f-b5e5-ef21892c26b4", pin: "1111", scope: "consent.autoapprove", xAuthToken: "Bearer <user token>" }],
  changePin: [{ pin: "1111", xAuthTokenByVerifyPIN: "<temporary token>" }],
  forgotPinGenerateOtp: [{ xAuthToken: "Bearer <user token>" }],
  forgotPinValidateOtp: [{ sessionId: "4e756a5a-fa0d-4e10-aeb9-cf188a05654d", value: "249983", xAuthToken: "Bearer <user token>" }],
  updatePin: [{ pin: "1123", xAuthTokenByVerifyPIN: "<temporary token>" }],
  profileShare: [
    { requestId: "8ef71594-a629-4b4f-b5e5-ef21892c26b4", hipDetails: { hipId: "IN3410000238", code: "12345" }, xAuthToken: "Bearer <user token>" },
  ],
  patientRequest: [
    {
      consentLimit: "105",
      consentOffset: "0",
      lockerSetupLimit: "198",
      lockerSetupOffset: "0",
      subscriptionLimit: "80",
      subscriptionOffset: "0",
      authorizationLimit: "100",
      authorizationOffset: "0",
      status: "ALL",
      xAuthToken: "Bearer <user token>",
    },
  ],
  patientLockers: [{ patientId: "raj.sharma@ndhm", includeInactive: "no", xAuthToken: "Bearer <user token>" }, { xAuthToken: "Bearer <user token>" }],
  "patientLockers#2": [{ lockerId: "10000002", xAuthToken: "Bearer <user token>" }],
  registerLocker: [{ xAuthToken: "Bearer <user token>" }],
  subscriptionRequests: [{ limit: "10", offset: "0", filter: "status", xAuthToken: "Bearer <user token>" }],
  "subscriptionRequests#2": [{ limit: "10", offset: "0", filter: "status", xAuthToken: "Bearer <user token>" }],
  denyRequests: [{ requestId: "8ef71594-a629-4b4f-b5e5-ef21892c26b4", reason: "not required", xAuthToken: "Bearer <user token>" }],
  approveRequests: [
    {
      isApplicableForAllHIPs: "true",
      includedSources: [
        {
          hiTypes: ["Prescription"],
          purpose: { text: "string", code: "string", refUri: "string" },
          hip: { id: "string", name: "string" },
          categories: ["LINK"],
          period: { from: "2021-12-27T09:52:01.447Z", to: "2021-12-27T09:52:01.447Z" },
        },
      ],
      excludedSources: [
        {
          hiTypes: ["Prescription"],
          purpose: { text: "string", code: "string", refUri: "string" },
          hip: { id: "string", name: "string" },
          categories: ["LINK"],
          period: { from: "2021-12-27T09:52:01.447Z", to: "2021-12-27T09:52:01.447Z" },
        },
      ],
      requestId: "be8b2623-19f0-4616-87e6-206027377177",
      xAuthToken: "Bearer <user token>",
    },
  ],
  editRequests: [
    {
      hiuId: "Test-HIU",
      subscriptionEditAndApprovalRequest: {
        isApplicableForAllHIPs: "true",
        includedSources: [
          {
            categories: ["LINK", "DATA"],
            hiTypes: [
              "DiagnosticReport",
              "Prescription",
              "DischargeSummary",
              "OPConsultation",
              "ImmunizationRecord",
              "WellnessRecord",
              "HealthDocumentRecord",
            ],
            period: { from: "2021-12-02T04:39:04.368Z", to: "2025-12-03T04:39:04.368Z" },
            purpose: { code: "PATRQT", text: "Self Requested" },
          },
        ],
        excludedSources: [],
      },
      subscriptionId: "8ef71594-a629-4b4f-b5e5-ef21892c26b4",
      xAuthToken: "Bearer <user token>",
    },
  ],
  listAuthorizationRequests: [{ limit: "10", offset: "0", filter: "status", xAuthToken: "Bearer <user token>" }],
  grantAuthorizationRequests: [{ requestId: "2a3319a9-de1e-45eb-acf1-b29a8ff3541b", xAuthToken: "Bearer <user token>" }],
  approveAuthorizationRequests: [
    { requestId: "2a3319a9-de1e-45eb-acf1-b29a8ff3541b", generatePerpetualToken: "true", xAuthToken: "Bearer <user token>" },
  ],
  revokeAuthorizationRequests: [{ requestId: "2a3319a9-de1e-45eb-acf1-b29a8ff3541b", xAuthToken: "Bearer <user token>" }],
  denyAuthorizationRequests: [{ requestId: "2a3319a9-de1e-45eb-acf1-b29a8ff3541b", xAuthToken: "Bearer <user token>" }],
  approveLockerRequests: [
    {
      subscription: {
        requestId: "2a3319a9-de1e-45eb-acf1-b29a8ff3541b",
        isApplicableForAllHIPs: "true",
        includedSources: [
          {
            hiTypes: ["Prescription"],
            purpose: { text: "string", code: "string", refUri: "string" },
            hip: { id: "string", name: "string" },
            categories: ["LINK"],
            period: { from: "2021-12-28T10:38:24.687Z", to: "2021-12-28T10:38:24.687Z" },
          },
        ],
        excludedSources: [
          {
            hiTypes: ["Prescription"],
            purpose: { text: "string", code: "string", refUri: "string" },
            hip: { id: "string", name: "string" },
            categories: ["LINK"],
            period: { from: "2021-12-28T10:38:24.687Z", to: "2021-12-28T10:38:24.687Z" },
          },
        ],
      },
      autoApproval: {
        isApplicableForAllHIPs: "true",
        hiu: { id: "string", name: "string" },
        includedSources: [
          {
            hiTypes: ["Prescription"],
            purpose: { text: "string", code: "string", refUri: "string" },
            hip: { id: "string", name: "string" },
            period: { from: "2021-12-28T10:38:24.687Z", to: "2021-12-28T10:38:24.687Z" },
          },
        ],
        excludedSources: [
          { hiTypes: ["Prescription"], purpose: { text: "string", code: "string", refUri: "string" }, hip: { id: "string", name: "string" } },
        ],
      },
      authorization: { requestId: "3fa85f64-5717-4562-b3fc-2c963f66afa6", generatePerpetualToken: "true" },
      xAuthToken: "Bearer <user token>",
    },
  ],
  initializeAuthentication: [
    {
      patientId: "shahnawaz123@sbx",
      purpose: "CM_ACCESS",
      authMode: "MOBILE_OTP",
      requester: { type: "PHR", id: "IN0400XX" },
      authorization: "<gateway session token>",
    },
  ],
  authenticationConfirm: [
    { transactionId: "de277b66-00ea-4a4a-a29f-bb9a467960aa", authCode: 456456, requesterId: "IN0400XX", authorization: "<gateway session token>" },
  ],
  getStates: [{}],
  getDistrict: [{ stateCode: "10" }],
  appNotification: [
    {
      appToken: "<app token>",
      period: { from: "2021-12-29T12:02:55.542Z", to: "2021-12-29T12:02:55.542Z" },
      status: "GRANTED",
      xAuthToken: "Bearer <user token>",
    },
  ],
  logout: [{ refreshToken: "<refresh token>", xAuthToken: "Bearer <user token>" }],
};
