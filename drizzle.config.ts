import { defineConfig } from "drizzle-kit";

// drizzle-kit 0.31.x writes flat migrations/NNNN_name.sql, which both wrangler and
// readD1Migrations read (1.x nests folders that they cannot).
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/storage/schema/*.ts",
  out: "./migrations",
});
