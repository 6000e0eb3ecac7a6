// The bundle's size, as README states it: the SDK (src/index.ts, the
// protobuf runtime included) bundled by esbuild exactly as `npm run
// bundle` does (ESM, es2022, minified), and that output gzipped at level 9.
import { build } from "esbuild";
import { gzipSync } from "node:zlib";

const out = await build({
  entryPoints: ["src/index.ts"],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  write: false,
  logLevel: "error",
});
const code = out.outputFiles[0].contents;
const gz = gzipSync(code, { level: 9 });
const kib = (n) => (n / 1024).toFixed(1);
console.log(`minified ${code.length} bytes (${kib(code.length)} KiB), gzip ${gz.length} bytes (${kib(gz.length)} KiB); esbuild ${(await import("esbuild")).version}, ${new Date().toISOString().slice(0, 10)}`);
