// Writes moons.csv to stdout: 400 points (x, y) of two interleaved half-moons with Gaussian noise, and their class
// (label 0 or 1). Deterministic (a seeded mulberry32), so `node make-moons.mjs > moons.csv` reproduces the file.
let state = 20261203;
function uniform() {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const gaussian = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());

const rows = ['x,y,label'];
for (let k = 0; k < 400; k++) {
  const label = k % 2;
  const t = Math.PI * uniform();
  const x = label === 0 ? Math.cos(t) : 1 - Math.cos(t);
  const y = label === 0 ? Math.sin(t) : 0.5 - Math.sin(t);
  rows.push(`${(x + 0.15 * gaussian()).toFixed(4)},${(y + 0.15 * gaussian()).toFixed(4)},${label}`);
}
console.log(rows.join('\n'));
