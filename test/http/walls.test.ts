import { describe, expect, it } from "vitest";

// The walls of the architecture sketch (README, "How it is built"): the error type that domain rules,
// adapters, Durable Objects, queues and crons raise lives in src/errors.ts, and HTTP maps it to a
// status; nothing below the HTTP layer imports a runtime value from src/http/ (a type is allowed:
// it leaves no dependency in the bundle).
const below = import.meta.glob(
  [
    "../../src/domain/**/*.ts",
    "../../src/adapters/**/*.ts",
    "../../src/durable-objects/**/*.ts",
    "../../src/queues/**/*.ts",
    "../../src/cron/**/*.ts",
    "../../src/storage/**/*.ts",
    "../../src/lib/**/*.ts",
    "../../src/console/ops/**/*.ts",
    "../../src/errors.ts",
  ],
  { query: "?raw", import: "default", eager: true },
) as Record<string, string>;

/** The runtime imports of a module's text: `import … from "x"` and `export … from "x"`, not `import type`. */
const runtimeImports = (text: string): string[] =>
  [...text.matchAll(/^\s*(import|export)\s+(type\s+)?[^;]*?\sfrom\s+"([^"]+)"/gm)].filter((m) => !m[2]).map((m) => m[3]);

describe("the walls between layers", () => {
  it("finds the modules it checks", () => {
    expect(Object.keys(below).length).toBeGreaterThan(40);
    expect(runtimeImports('import { GatewayError } from "../../http/errors";\nimport type { X } from "../http/context";')).toEqual([
      "../../http/errors",
    ]);
  });

  it("nothing below HTTP imports a runtime value from src/http/", () => {
    const offenders = Object.entries(below).flatMap(([file, text]) =>
      runtimeImports(text)
        .filter((i) => /(^|\/)http\//.test(i))
        .map((i) => `${file} → ${i}`),
    );
    expect(offenders).toEqual([]);
  });
});
