// The first load's size: what dist/index.html pulls in (scripts, styles, preloads), gzipped.
// Fails above the budget (200 kB gzip) so a heavy dependency cannot slip in; chunks loaded
// later (the person page's chart) are listed apart.
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BUDGET = 200 * 1024;
const dist = new URL('../dist/', import.meta.url);
const html = readFileSync(new URL('index.html', dist), 'utf8');
const first = new Set([...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]));
const gz = (path) => gzipSync(readFileSync(new URL(path, dist)), { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
let total = gz('index.html');
for (const path of first) total += gz(path);
const later = readdirSync(new URL('assets/', dist))
  .map((name) => `assets/${name}`)
  .filter((path) => !first.has(path));
console.log(`first load: ${kb(total)} gzip (index.html + ${[...first].join(', ')}); budget ${kb(BUDGET)}`);
for (const path of later) console.log(`  loaded on demand: ${path} ${kb(gz(path))} gzip`);
if (total > BUDGET) {
  console.error(`the first load is over budget: ${kb(total)} > ${kb(BUDGET)}`);
  process.exit(1);
}
