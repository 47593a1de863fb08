import type { Router } from "../../router";
import { registerDeadLetterRoutes } from "./dead-letters";
import { registerUpstreamCallRoutes } from "./upstream-calls";
import { registerAlertRoutes } from "./alerts";

/** The operators' JSON routes (issue 6), one file per resource: the console's twins for automation. */
export function registerOpsRoutes(app: Router) {
  registerDeadLetterRoutes(app);
  registerUpstreamCallRoutes(app);
  registerAlertRoutes(app);
}
