// The encoder forward in wasm (V8 in node) on a random MiniLM-L6-shaped model: f32 dense
// layers against the integer kernel, and the integer dense layers alone at the same shapes.
//   cargo build --release --target wasm32-unknown-unknown   (in scripts/kernel-bench/encoder)
//   node bench.mjs target/wasm32-unknown-unknown/release/encoder_bench.wasm
import { readFileSync } from 'fs';
const wasm = readFileSync(process.argv[2]);
const mod = new WebAssembly.Module(wasm);
const imports = Object.fromEntries(WebAssembly.Module.imports(mod).map(i => [i.module, new Proxy({}, { get: () => () => { throw new Error('import called ' ); } })]));
const { exports: e } = await WebAssembly.instantiate(mod, imports);
const time = (f) => { f(); f(); let n = 0; const t0 = performance.now(); let t; do { f(); n++; t = performance.now(); } while (t - t0 < 1500); return (t - t0) / n; };
for (const [b, t] of [[1, 13], [4, 13], [16, 13], [8, 32], [2, 64]]) {
  e.setup(0, b, t); const f32 = time(e.forward);
  e.setup(1, b, t); const i16 = time(e.forward); const dense = time(e.dense_only);
  const gflop = 2 * b * t * 6 * (4 * 384 * 384 + 2 * 384 * 1536) / 1e9;
  console.log(`b=${b} t=${t}: forward f32 ${f32.toFixed(2)} ms, i16 ${i16.toFixed(2)} ms; i16 dense layers alone ${dense.toFixed(2)} ms (${(100 * dense / i16).toFixed(0)}%), rest ${(i16 - dense).toFixed(2)} ms; dense GFLOP ${gflop.toFixed(3)}`);
}
