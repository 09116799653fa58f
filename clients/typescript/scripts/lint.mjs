// Refuses escape hatches from the type checker in the program code (everything in src/ except
// the generated src/schema.d.ts): `as` casts, `<T>x` assertions, `!` non-null assertions, the
// `any` type, and @ts-ignore / @ts-expect-error / @ts-nocheck. It reads the syntax tree, and also
// refuses the bare words `as` and `any` anywhere (comments too), so a plain grep agrees.

import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

const root = new URL("..", import.meta.url).pathname;
const src = join(root, "src");
const GENERATED = new Set(["schema.d.ts"]);

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path);
    return entry.name.endsWith(".ts") && !GENERATED.has(entry.name) ? [path] : [];
  });
}

const problems = [];
for (const file of files(src)) {
  const text = readFileSync(file, "utf8");
  const name = relative(root, file);
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const report = (node, what) => {
    const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source));
    problems.push(`${name}:${line + 1}:${character + 1}: ${what}`);
  };
  const visit = (node) => {
    if (ts.isAsExpression(node)) report(node, "`as` cast");
    if (ts.isTypeAssertionExpression(node)) report(node, "<T> type assertion");
    if (ts.isNonNullExpression(node)) report(node, "`!` non-null assertion");
    if (node.kind === ts.SyntaxKind.AnyKeyword) report(node, "`any` type");
    ts.forEachChild(node, visit);
  };
  visit(source);
  text.split("\n").forEach((line, i) => {
    if (/@ts-(ignore|expect-error|nocheck)/.test(line)) problems.push(`${name}:${i + 1}: @ts- directive`);
    if (/\b(as|any)\b/i.test(line)) problems.push(`${name}:${i + 1}: the word "as" or "any": ${line.trim()}`);
  });
}

if (problems.length > 0) {
  console.error(problems.join("\n"));
  console.error(`lint: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log("lint: no casts, no any, no @ts- directives in src/ (schema.d.ts excepted)");
