import { fusedBnActPoolBackward, fusedBnActPoolForward } from '../src/backend/wasm-kernels';

for (const s of [
  [64, 28, 28, 12],
  [64, 14, 14, 16],
  [64, 7, 7, 20],
]) {
  const [n, h, w, c] = s as [number, number, number, number];
  const x = new Float32Array(n * h * w * c).map(() => Math.random() - 0.5);
  const bias = new Float32Array(c),
    g = new Float32Array(c).fill(1),
    b = new Float32Array(c);
  const osz = n * Math.floor(h / 2) * Math.floor(w / 2) * c;
  const out = new Float32Array(osz),
    am = new Int32Array(osz),
    mean = new Float32Array(c),
    v = new Float32Array(c).fill(1);
  const dx = new Float32Array(x.length),
    dg = new Float32Array(c),
    db = new Float32Array(c),
    dbi = new Float32Array(c);
  const dOut = new Float32Array(osz).map(() => Math.random());
  const attrs = { training: true, epsilon: 1e-5, alpha: 0.1, pool: 2 as const };
  const T = (name: string, f: () => void) => {
    for (let i = 0; i < 30; i++) f();
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) f();
    return ((performance.now() - t0) / 100).toFixed(3);
  };
  const fw = T('fwd', () => fusedBnActPoolForward(x, s, bias, g, b, null, attrs, out, mean, v, am));
  const bw = T('bwd', () =>
    fusedBnActPoolBackward(x, s, bias, g, b, mean, v, am, dOut, attrs, dx, dg, db, dbi),
  );
  console.log(s.join('x'), 'fwd', fw, 'bwd', bw);
}
