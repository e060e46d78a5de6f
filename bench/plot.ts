/**
 * Draws bench/fanout-latency.svg from bench/results/fanout.json: writer→reader p50 (dashed)
 * and p99 (solid) against the number of readers, one colour per server.
 * Usage: node --import tsx bench/plot.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib.js';

interface Row {
  server: string;
  n: number;
  docs?: number;
  p50: number;
  p99: number;
}
const data = JSON.parse(fs.readFileSync(path.join(ROOT, 'bench/results/fanout.json'), 'utf8')) as { rows: Row[]; runs: number; seconds: number };
// The single-document cases (the many-documents case has its own table).
data.rows = data.rows.filter((r) => (r.docs ?? 1) === 1);
const servers = [...new Set(data.rows.map((r) => r.server))];
const ns = [...new Set(data.rows.map((r) => r.n))].sort((a, b) => a - b);
const colours = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd'];
const W = 640;
const H = 400;
const M = { l: 60, r: 170, t: 40, b: 50 };
const maxY = Math.ceil(Math.max(...data.rows.map((r) => r.p99)) / 5) * 5;
const x = (n: number) => M.l + (ns.indexOf(n) / Math.max(1, ns.length - 1)) * (W - M.l - M.r);
const y = (v: number) => H - M.b - (v / maxY) * (H - M.t - M.b);
const parts: string[] = [];
parts.push(`<text x="${W / 2 - 60}" y="22" font-size="15">Fan-out latency, 1 writer at 20 Hz → N readers</text>`);
for (let v = 0; v <= maxY; v += 5) {
  parts.push(`<line x1="${M.l}" x2="${W - M.r}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${M.l - 8}" y="${y(v) + 4}" font-size="11" text-anchor="end">${v}</text>`);
}
for (const n of ns) parts.push(`<text x="${x(n)}" y="${H - M.b + 18}" font-size="11" text-anchor="middle">${n}</text>`);
parts.push(`<text x="${(M.l + W - M.r) / 2}" y="${H - 12}" font-size="12" text-anchor="middle">readers (N)</text>`);
parts.push(`<text x="16" y="${H / 2}" font-size="12" transform="rotate(-90 16 ${H / 2})" text-anchor="middle">latency ms</text>`);
servers.forEach((s, i) => {
  const c = colours[i % colours.length];
  const rows = ns.map((n) => data.rows.find((r) => r.server === s && r.n === n)!).filter(Boolean);
  const line = (key: 'p50' | 'p99') => rows.map((r) => `${x(r.n).toFixed(1)},${y(r[key]).toFixed(1)}`).join(' ');
  parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${line('p99')}"/>`);
  parts.push(`<polyline fill="none" stroke="${c}" stroke-width="1.5" stroke-dasharray="4 3" points="${line('p50')}"/>`);
  parts.push(`<rect x="${W - M.r + 15}" y="${M.t + i * 20}" width="12" height="3" fill="${c}"/><text x="${W - M.r + 32}" y="${M.t + i * 20 + 5}" font-size="12">${s}</text>`);
});
parts.push(`<text x="${W - M.r + 15}" y="${M.t + servers.length * 20 + 16}" font-size="11">solid p99, dashed p50</text>`);
parts.push(`<text x="${W - M.r + 15}" y="${M.t + servers.length * 20 + 32}" font-size="11">median of ${data.runs} runs × ${data.seconds} s</text>`);
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
fs.writeFileSync(path.join(ROOT, 'bench/fanout-latency.svg'), svg);
process.stdout.write('wrote bench/fanout-latency.svg\n');
