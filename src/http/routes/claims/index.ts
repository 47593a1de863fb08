import type { Router } from "../../router";
import { registerCreateClaimRoutes } from "./create";
import { registerReadClaimRoutes } from "./read";
import { registerClaimActionRoutes } from "./actions";
import { registerCatalogueRoutes } from "./catalogue";
import { registerReplayRoute } from "./replay";
import { registerResolveRoute } from "./resolve";
import { registerReportRoutes } from "./reports";

/** Incentive claims (CONTRACT §5, §8): the ledger API, the catalogue, replay and the monthly report. */
export function registerClaimsRoutes(app: Router) {
  registerCatalogueRoutes(app); // before /v1/claims/{claimId}: /v1/claims/catalogue is a fixed path
  registerCreateClaimRoutes(app);
  registerReadClaimRoutes(app);
  registerClaimActionRoutes(app);
  registerReplayRoute(app);
  registerResolveRoute(app);
  registerReportRoutes(app);
}
