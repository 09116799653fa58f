// Regenerates the types from ../../openapi/openapi.json into a temporary file and compares them
// with the committed src/schema.d.ts, so a contract change without `npm run generate` is caught.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const contract = join(root, "..", "..", "openapi", "openapi.json");
const committed = join(root, "src", "schema.d.ts");
const bin = join(root, "node_modules", ".bin", "openapi-typescript");

function check(fresh) {
  const run = spawnSync(bin, [contract, "--output", fresh, "--silent"], { encoding: "utf8" });
  if (run.status !== 0) {
    console.error(run.stdout, run.stderr);
    console.error("check-generated: openapi-typescript failed");
    return 2;
  }
  if (!existsSync(committed)) {
    console.error("check-generated: src/schema.d.ts is missing; run `npm run generate`");
    return 1;
  }
  if (readFileSync(fresh, "utf8") === readFileSync(committed, "utf8")) {
    console.log("check-generated: src/schema.d.ts matches openapi/openapi.json");
    return 0;
  }
  spawnSync(
    "diff",
    ["-u", "--label", "src/schema.d.ts (committed)", "--label", "src/schema.d.ts (from openapi.json)", committed, fresh],
    { stdio: "inherit" },
  );
  console.error(
    "check-generated: src/schema.d.ts is out of date with openapi/openapi.json; run `npm run generate` and commit it",
  );
  return 1;
}

const dir = mkdtempSync(join(tmpdir(), "pb-schema-"));
try {
  process.exitCode = check(join(dir, "schema.d.ts"));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
