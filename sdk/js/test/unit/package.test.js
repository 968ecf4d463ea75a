// The package as a browser and TypeScript see it: plain ES modules with relative `.js`
// imports only (the server serves src/ as static files), and declarations that name
// exactly what the modules export.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src");
const modules = readdirSync(SRC).filter((f) => f.endsWith(".js"));

test("every import in src/ is relative, with its .js extension; no Node built-ins", () => {
  for (const file of modules) {
    const text = readFileSync(path.join(SRC, file), "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "") // comments may show usage; only code counts
      .replace(/^\s*\/\/.*$/gm, "");
    for (const [, spec] of text.matchAll(/\b(?:import|export)\b[^"';]*?from\s+["']([^"']+)["']/g)) {
      assert.match(spec, /^\.\/[\w-]+\.js$/, `${file} imports ${spec}`);
    }
    assert.doesNotMatch(text, /\bimport\s*\(/, `${file}: no dynamic import`);
    assert.doesNotMatch(text, /\brequire\s*\(/, `${file}: no require`);
    assert.doesNotMatch(text, /\b(process|Buffer|__dirname)\b\./, `${file}: no Node globals`);
  }
});

test("each module has its declarations, naming the same exports", async () => {
  for (const file of modules) {
    const dts = path.join(SRC, file.replace(/\.js$/, ".d.ts"));
    const text = readFileSync(dts, "utf8");
    const declared = new Set();
    for (const [, name] of text.matchAll(/^export (?:declare )?(?:class|function|const|let)\s+(\w+)/gm)) declared.add(name);
    for (const [, list] of text.matchAll(/^export \{([^}]*)\} from/gm)) {
      for (const name of list.split(",").map((s) => s.trim()).filter(Boolean)) declared.add(name);
    }
    const actual = new Set(Object.keys(await import(path.join(SRC, file))));
    assert.deepEqual([...declared].sort(), [...actual].sort(), `${file} vs its .d.ts`);
  }
});

test("package.json points at the entry module and its declarations", () => {
  const pkg = JSON.parse(readFileSync(path.join(SRC, "..", "package.json"), "utf8"));
  assert.equal(pkg.name, "@skirmish/sdk");
  assert.equal(pkg.type, "module");
  assert.equal(pkg.exports["."].default, "./src/skirmish.js");
  assert.equal(pkg.exports["."].types, "./src/skirmish.d.ts");
  assert.deepEqual(Object.keys(pkg.dependencies || {}), []);
});
