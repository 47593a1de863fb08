/**
 * SAMPLE activity catalogue — NOT an official catalogue. Seed 000 open item 3 ("provide official
 * ASHA activity code catalogue with versions") is still awaiting NHM IT CELL.
 *
 * It holds the seed's two example codes, rated so that the seed's example reproduces exactly
 * (HBNC_VISIT 3 × 100 = 300, ANC_VISIT 5 × 80 = 400), and a selection of codes in the style of
 * AMRIT's own catalogue (table m_incentive_activity in PSMRI's FLW-API) with public NHM ASHA
 * incentive rates (JSY, HBNC, HBYC, routine activities). Amounts are whole rupees per unit.
 *
 * It is exported in the `PUT /v1/admin/catalogue` body shape: `npm start` PUTs it as the gateway's
 * first catalogue version, and the Assam sandbox treats its codes as the portal's known codes.
 */
export const SAMPLE_CATALOGUE = {
  version: "SAMPLE-2025-04",
  effectiveFrom: "2025-04",
  activities: [
    // Seed 000 examples.
    { code: "HBNC_VISIT", name: "Home-based newborn care visit (seed example)", amount: 100 },
    { code: "ANC_VISIT", name: "Antenatal care visit (seed example)", amount: 80 },
    // Maternal health (JSY: ASHA package for institutional delivery, ANC component).
    { code: "FULL_ANC", name: "Full ANC: registration and four antenatal check-ups", amount: 300 },
    { code: "JSY_ANC_RURAL", name: "JSY ANC component, rural", amount: 300 },
    { code: "JSY_ANC_URBAN", name: "JSY ANC component, urban", amount: 200 },
    { code: "JSY_DELIVERY_RURAL", name: "JSY institutional delivery escort, rural", amount: 300 },
    { code: "JSY_DELIVERY_URBAN", name: "JSY institutional delivery escort, urban", amount: 200 },
    // Newborn and young child care.
    { code: "HBNC", name: "Home-based newborn care: complete schedule of visits", amount: 250 },
    { code: "E_HBNC_CACHAR", name: "Extended HBNC, Cachar district", amount: 250 },
    { code: "HBYC_QUARTERLY_VISITS", name: "Home-based young child care, per quarterly visit", amount: 50 },
    { code: "FULL_IMMUNIZATION_1Y", name: "Full immunisation of a child under one year", amount: 100 },
    { code: "COMPLETE_IMMUNIZATION_2Y", name: "Complete immunisation up to two years", amount: 75 },
    // Family planning and community processes.
    { code: "FP_LIMITING_AFTER_2", name: "Counselling for limiting method after two children", amount: 500 },
    { code: "MAA_MEETING", name: "MAA (Mothers' Absolute Affection) quarterly meeting", amount: 100 },
    // Routine and recurrent activities (NHM 2018 revision: Rs 2000 a month).
    { code: "ASHA_MONTHLY_ROUTINE", name: "Routine and recurrent activities, per month", amount: 2000 },
  ],
} as const;

export type SampleCatalogue = typeof SAMPLE_CATALOGUE;

/** Codes the sandbox portal knows (its own catalogue = the sample). */
export const SAMPLE_ACTIVITY_CODES: ReadonlySet<string> = new Set(SAMPLE_CATALOGUE.activities.map((a) => a.code));
