// Rebuild static/vendor/ from the exact npm versions in package-lock.json:
//   cd frontend && npm ci && npm run vendor
// Output: one minified ES module plus the packages' licences. Commit both.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "static", "vendor");
mkdirSync(join(out, "licenses"), { recursive: true });

const packages = JSON.parse(readFileSync(join(here, "package.json"), "utf8")).dependencies;
const banner = Object.entries(packages)
  .map(([name, version]) => `${name}@${version}`)
  .join(", ");

await build({
  entryPoints: [join(here, "vendor-entry.mjs")],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  legalComments: "none",
  banner: { js: `/* ${banner}. Licences: static/vendor/licenses/. Built by frontend/build-vendor.mjs. */` },
  outfile: join(out, "markdown-kit.min.js"),
});

// The bundle's dependencies, transitive ones included, each with its licence file.
const lock = JSON.parse(readFileSync(join(here, "package-lock.json"), "utf8"));
const shipped = ["dompurify", "highlight.js", "markdown-it", "markdown-it-task-lists"];
const seen = new Set();
function collect(name) {
  if (seen.has(name)) return;
  seen.add(name);
  const entry = lock.packages[`node_modules/${name}`];
  for (const dep of Object.keys(entry.dependencies || {})) collect(dep);
}
shipped.forEach(collect);
const lines = [];
for (const name of [...seen].sort()) {
  const entry = lock.packages[`node_modules/${name}`];
  const dir = join(here, "node_modules", name);
  const file = ["LICENSE", "LICENSE.md", "LICENSE.txt", "LICENSE-MIT.txt", "license"].find((f) => {
    try { readFileSync(join(dir, f)); return true; } catch { return false; }
  });
  const target = `${name.replace("/", "__")}.txt`;
  if (file) copyFileSync(join(dir, file), join(out, "licenses", target));
  lines.push(`${name}@${entry.version} (${entry.license})${file ? ` licenses/${target}` : ""}`);
}
writeFileSync(join(out, "PACKAGES.txt"), lines.join("\n") + "\n");
console.log(`static/vendor/markdown-kit.min.js: ${lines.join(", ")}`);
