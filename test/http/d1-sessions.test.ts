import { describe, expect, it } from "vitest";
import { call, createClient } from "../helpers/gateway";

const SIGNED = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}\.[A-Za-z0-9_-]{22}$/;

describe("D1 read replication: sessions and bookmarks", () => {
  it("an answer that used D1 carries a signed bookmark; one that did not, none", async () => {
    const c = await createClient(["claims:read"]);
    const read = await call("GET", "/v1/claims/00000000-0000-4000-8000-000000000000", { token: c.token });
    expect(read.status).toBe(404);
    expect(read.headers.get("x-d1-bookmark")).toMatch(SIGNED);
    const health = await call("GET", "/healthz");
    expect(health.headers.get("x-d1-bookmark")).toBeNull();
  });

  it("takes back a bookmark it signed; a forged, altered or malformed one is ignored, never an error", async () => {
    const c = await createClient(["claims:read"]);
    const first = await call("GET", "/v1/claims/00000000-0000-4000-8000-000000000000", { token: c.token });
    const bookmark = first.headers.get("x-d1-bookmark")!;
    const [raw, sig] = bookmark.split(".");
    const future = `ffffffff-ffffffff-ffffffff-${"f".repeat(32)}`;
    for (const sent of [bookmark, `${raw}.${"A".repeat(22)}`, `${future}.${sig}`, future, "garbage", "x".repeat(5000)]) {
      const res = await call("GET", "/v1/claims/00000000-0000-4000-8000-000000000000", { token: c.token, headers: { "X-D1-Bookmark": sent } });
      expect(res.status).toBe(404);
      // The answer's bookmark is never the forged one.
      expect(res.headers.get("x-d1-bookmark")!.startsWith("ffffffff")).toBe(false);
    }
  });
});
