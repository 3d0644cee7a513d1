// Kernel benchmark in wasm (V8 in node): candle f32 Linear against the integer kernel
// (crates/mapper/src/int8.rs, included by path), in GFLOP/s (2mnk per product).
//   cargo build --release --target wasm32-unknown-unknown   (in scripts/kernel-bench)
//   node bench.mjs target/wasm32-unknown-unknown/release/kbench.wasm
import { readFileSync } from 'fs';
const wasm = readFileSync(process.argv[2]);
const { instance } = await WebAssembly.instantiate(wasm, Object.fromEntries(WebAssembly.Module.imports(new WebAssembly.Module(wasm)).map(i => [i.module, new Proxy({}, { get: () => () => { throw new Error('import called'); } })])));
const e = instance.exports;
const shapes = [[16,384,384],[16,1536,384],[16,384,1536],[64,384,384],[64,1536,384],[64,384,1536],[256,1536,384]];
for (const [m,n,k] of shapes) {
  e.setup(m,n,k);
  const res = {};
  for (const f of ['run_f32','run_int','run_int_op']) {
    e[f](); e[f]();
    let iters = 0; const t0 = performance.now(); let t;
    do { e[f](); iters++; t = performance.now(); } while (t - t0 < 400);
    const ms = (t - t0) / iters;
    res[f] = (2*m*n*k/ms/1e6).toFixed(1);
  }
  console.log(`m=${m} n=${n} k=${k} GFLOP/s f32 ${res.run_f32} int ${res.run_int} int-op ${res.run_int_op}`);
}
