import { z } from "zod";
import { cfg, defineConfig } from "../../env";

/** UMANG / NDHM adapter configuration (CONTRACT §2). Validated at first use: 503 CONFIG_INVALID naming what is missing. */
export const getUmangConfig = defineConfig(
  "umang",
  z.object({
    UMANG_BASE_URL: cfg.url(),
    UMANG_API_TOKEN: cfg.secret(),
    UMANG_DEPT_ID: cfg.withDefault("379").pipe(z.string().regex(/^\d{1,10}$/)),
    UMANG_SERVICE_ID: cfg.withDefault("1972").pipe(z.string().regex(/^\d{1,10}$/)),
    UMANG_TKN: z.string().min(1),
    UMANG_USER_ID: z.string().min(1),
    UMANG_MODE: cfg.withDefault("web"),
    UMANG_PLATFORM: cfg.withDefault("web"),
    UMANG_CLIENT_ID: cfg.secret(),
    UMANG_CLIENT_SECRET: cfg.secret(),
  }),
);

export type UmangConfig = ReturnType<typeof getUmangConfig>;
