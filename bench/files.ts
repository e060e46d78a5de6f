/**
 * Files (issue 21): how fast uploads finish, how fast large ones stream, and how long the
 * workers take to make an attachment's text searchable.
 *
 * Servers, started from scratch in one run:
 * - `quire`: Quire as `npm start` runs it (all roles in one process) on the embedded
 *   default (PGlite and files under DATA_DIR), uploads authenticated, checked against the
 *   document's permission and the workspace quota, each recorded in the database;
 * - `quire-s3` (with `--s3`): the same on server Postgres with S3-compatible storage (the
 *   s3rver `ops/object-store.sh` starts);
 * - `tus-peer`: stock tus-node-server (@tus/server + @tus/file-store on Node's http), no
 *   auth, no database: the floor for a resumable upload on this machine. Hocuspocus and
 *   y-websocket have no file uploads.
 *
 * Measured with tus-js-client, the web app's upload client (creation, then the file in one
 * PATCH up to 5 MB, in 5 MB pieces above):
 * 1. 1 MB files with 1, 10 and 50 uploaders at once (each uploader uploads `--rounds`
 *    files one after another): p50/p95/max from the creation request to the last answer.
 * 2. One `--large-mb` file: MB/s.
 * 3. (quire only) Extraction: a PDF and a .docx of about `--extract-mb` MB each, uploaded
 *    and polled until the attachment's text is extracted (`extraction: "done"`): seconds
 *    per MB, through the change feed and the indexer as in production; and the extraction
 *    alone (`measureExtraction`, the worker's extraction process, warm): ms per MB.
 *
 * Usage: npm run bench:files -- [--rounds=4] [--large-mb=200] [--extract-mb=2] [--s3] [--json=<file>]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { Document, Packer, Paragraph, TextRun } from 'docx';
import PDFDocument from 'pdfkit';
import * as tus from 'tus-js-client';
import { measureExtraction } from '../ml-workers/extract/measure.js';
import { arg, benchDirs, createDocument, dropSchema, signup, startPeer, startQuire } from './lib.js';

const ROUNDS = Number(arg('rounds', '4'));
const LARGE_MB = Number(arg('large-mb', '200'));
const EXTRACT_MB = Number(arg('extract-mb', '2'));
const WITH_S3 = process.argv.includes('--s3');
const JSON_OUT = arg('json', '');
const MB = 1_048_576;

interface Target {
  name: string;
  endpoint: string;
  headers: Record<string, string>;
  metadata: Record<string, string>;
}

function upload(t: Target, bytes: Buffer, name: string, type = 'application/octet-stream'): Promise<{ ms: number; url: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const up = new tus.Upload(bytes, {
      endpoint: t.endpoint,
      headers: t.headers,
      metadata: { ...t.metadata, filename: name, filetype: type },
      chunkSize: 5 * MB,
      retryDelays: [],
      onError: reject,
      onSuccess: () => resolve({ ms: performance.now() - started, url: up.url ?? '' }),
    });
    up.start();
  });
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function concurrent(t: Target, uploaders: number): Promise<{ uploaders: number; files: number; p50: number; p95: number; max: number }> {
  const file = crypto.randomBytes(MB);
  const times: number[] = [];
  await Promise.all(
    Array.from({ length: uploaders }, async (_, u) => {
      for (let r = 0; r < ROUNDS; r++) times.push((await upload(t, file, `f-${u}-${r}.bin`)).ms);
    }),
  );
  return { uploaders, files: times.length, p50: pct(times, 50), p95: pct(times, 95), max: Math.max(...times) };
}

async function large(t: Target): Promise<{ mb: number; seconds: number; mbPerSecond: number }> {
  const bytes = crypto.randomBytes(LARGE_MB * MB);
  const { ms } = await upload(t, bytes, 'large.bin');
  return { mb: LARGE_MB, seconds: ms / 1000, mbPerSecond: LARGE_MB / (ms / 1000) };
}

const WORDS = 'the quarterly report shows revenue growth across regions while costs held steady and the board approved a new plan for hiring engineers in three offices'.split(' ');
function prose(chars: number): string[] {
  const out: string[] = [];
  let n = 0;
  while (n < chars) {
    const line = Array.from({ length: 14 }, () => WORDS[Math.floor(Math.random() * WORDS.length)]).join(' ');
    out.push(line);
    n += line.length + 1;
  }
  return out;
}

async function makePdf(targetBytes: number): Promise<Buffer> {
  // Text compresses about 3:1 in a PDF; random words are written until the file is big enough.
  const lines = prose(targetBytes * 3);
  const doc = new PDFDocument({ compress: true });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((r) => doc.on('end', () => r()));
  for (const l of lines) doc.text(l);
  doc.end();
  await done;
  return Buffer.concat(chunks);
}

async function makeDocx(targetBytes: number): Promise<Buffer> {
  const lines = prose(targetBytes * 4);
  const doc = new Document({ sections: [{ children: lines.map((l) => new Paragraph({ children: [new TextRun(l)] })) }] });
  return Packer.toBuffer(doc);
}

async function extraction(base: string, token: string, t: Target): Promise<{ type: string; mb: number; seconds: number; secondsPerMb: number; aloneMsPerMb: number }[]> {
  const out = [];
  for (const [type, name, make] of [
    ['application/pdf', 'report.pdf', makePdf],
    ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'report.docx', makeDocx],
  ] as const) {
    const bytes = await make(EXTRACT_MB * MB);
    const { url } = await upload(t, bytes, name, type);
    const id = url.split('/').pop();
    const started = performance.now();
    for (;;) {
      const r = (await (await fetch(`${base}/api/v1/attachments/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { extraction: string };
      if (r.extraction === 'done' || r.extraction === 'failed') {
        if (r.extraction === 'failed') throw new Error(`${name}: extraction failed`);
        break;
      }
      if (performance.now() - started > 600_000) throw new Error(`${name}: not extracted in 10 minutes`);
      await new Promise((res) => setTimeout(res, 50));
    }
    // From the upload's last answer to the text stored: the feed, the indexer's queue, the extraction.
    const seconds = (performance.now() - started) / 1000;
    // The extraction alone (the worker's extraction process, warm), without the feed and the indexing around it.
    const alone = await measureExtraction(bytes, type);
    out.push({ type: name.split('.').pop()!, mb: bytes.length / MB, seconds, secondsPerMb: seconds / (bytes.length / MB), aloneMsPerMb: (alone.ms / bytes.length) * MB });
  }
  return out;
}

interface Report {
  server: string;
  concurrent: Awaited<ReturnType<typeof concurrent>>[];
  large: Awaited<ReturnType<typeof large>>;
  extraction?: Awaited<ReturnType<typeof extraction>>;
}

async function measure(t: Target, extract?: { base: string; token: string }): Promise<Report> {
  // A warm-up upload: first-request costs (module loading, connections) are not in the figures.
  await upload(t, crypto.randomBytes(1024), 'warm.bin');
  const report: Report = { server: t.name, concurrent: [], large: { mb: 0, seconds: 0, mbPerSecond: 0 } };
  for (const c of [1, 10, 50]) report.concurrent.push(await concurrent(t, c));
  report.large = await large(t);
  if (extract) report.extraction = await extraction(extract.base, extract.token, t);
  return report;
}

async function quireTarget(name: string, env: Record<string, string>, postgres: boolean): Promise<{ report: Report; stop: () => Promise<void> }> {
  const { schema, dataDir } = benchDirs();
  const quire = await startQuire({
    schema,
    dataDir,
    roles: 'api,sync,worker',
    env: {
      ...(postgres ? {} : { DATABASE_URL: '' }),
      // One account uploads everything: the per-person and per-address request limits would measure themselves.
      RATE_LIMIT_USER_PER_MINUTE: '1000000',
      RATE_LIMIT_USER_BURST: '100000',
      RATE_LIMIT_IP_PER_MINUTE: '1000000',
      RATE_LIMIT_IP_BURST: '100000',
      MAX_UPLOAD_BYTES: String((LARGE_MB + 10) * MB),
      WORKSPACE_STORAGE_QUOTA_BYTES: String(100 * 1024 * MB),
      ...env,
    },
  });
  const s = await signup(quire.base);
  const doc = await createDocument(quire.base, s.accessToken, 'Files');
  const t: Target = { name, endpoint: `${quire.base}/api/v1/uploads`, headers: { authorization: `Bearer ${s.accessToken}` }, metadata: { documentId: doc } };
  const report = await measure(t, { base: quire.base, token: s.accessToken });
  return {
    report,
    stop: async () => {
      await quire.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      if (postgres) await dropSchema(schema);
    },
  };
}

const reports: Report[] = [];
{
  const q = await quireTarget('quire (embedded default)', {}, false);
  reports.push(q.report);
  await q.stop();
}
if (WITH_S3) {
  const prefix = `bench-${Date.now().toString(36)}`;
  const q = await quireTarget(
    'quire (Postgres + S3)',
    { STORAGE_BACKEND: 's3', S3_ENDPOINT: 'http://127.0.0.1:4569', S3_BUCKET: 'quire', S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER', S3_PREFIX: prefix },
    true,
  );
  reports.push(q.report);
  await q.stop();
}
{
  const peer = await startPeer('bench/peers/tus-file-store.ts');
  reports.push(await measure({ name: 'tus-peer (@tus/file-store)', endpoint: `http://127.0.0.1:${peer.port}/files`, headers: {}, metadata: {} }));
  await peer.stop();
}

console.log(`\nFiles — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${ROUNDS} files per uploader\n`);
console.log('| server | uploaders | files | p50 ms | p95 ms | max ms |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of reports) for (const c of r.concurrent) console.log(`| ${r.server} | ${c.uploaders} | ${c.files} | ${c.p50.toFixed(0)} | ${c.p95.toFixed(0)} | ${c.max.toFixed(0)} |`);
const peer = reports[reports.length - 1]!;
console.log('\n| server | p95 at 50 vs peer | large upload MB/s | vs peer |');
console.log('|---|---:|---:|---:|');
for (const r of reports) {
  const p95 = r.concurrent.find((c) => c.uploaders === 50)!.p95;
  const peer95 = peer.concurrent.find((c) => c.uploaders === 50)!.p95;
  console.log(
    `| ${r.server} | ${(p95 / peer95).toFixed(2)}× | ${r.large.mbPerSecond.toFixed(0)} (${r.large.mb} MB in ${r.large.seconds.toFixed(1)} s) | ${(r.large.mbPerSecond / peer.large.mbPerSecond).toFixed(2)}× |`,
  );
}
for (const r of reports) {
  if (!r.extraction) continue;
  console.log(`\nExtraction, ${r.server}:`);
  for (const e of r.extraction)
    console.log(`- ${e.type}: ${e.mb.toFixed(2)} MB, upload to text stored ${e.seconds.toFixed(2)} s (${e.secondsPerMb.toFixed(2)} s/MB); the extraction alone ${e.aloneMsPerMb.toFixed(0)} ms/MB`);
}
if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify(reports, null, 2));
process.exit(0);
