/**
 * Everything a real server process prints is a JSON log line (`server/main.ts` on the
 * embedded default, as `npm start` runs it): start-up says where to open it, a socket
 * refused for a bad token or a document it may not open and an update refused as invalid
 * are each logged once by Quire's own code (Hocuspocus' console printouts of the same
 * refusals are gone), a message Hocuspocus itself complains about on the console becomes a
 * structured line, and a working session and the shutdown print nothing else.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as encoding from 'lib0/encoding';
import { openableUrl } from '../server/app.js';
import { freePort, ready, spawnQuire } from './helpers/process.js';
import { acked, connect, paragraphText, synced } from './helpers/provider.js';
import { authenticatedSocket, updateFrame } from './helpers/raw-socket.js';
import { eventually } from './helpers/wait.js';

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** Parses every line of a stream; a line that is not a JSON object fails the test, naming it. */
function parseLines(name: string, text: string): LogLine[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      let parsed: unknown;
      assert.doesNotThrow(() => (parsed = JSON.parse(line)), `${name} printed a line that is not JSON: ${line}`);
      assert.ok(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed), `${name} printed a JSON line that is not an object: ${line}`);
      assert.equal(typeof (parsed as LogLine).msg, 'string', `${name}: a log line without msg: ${line}`);
      return parsed as LogLine;
    });
}

/** `[doc][type]`: a message type Hocuspocus has no handler for. */
function unknownTypeFrame(doc: string, type: number): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, doc);
  encoding.writeVarUint(e, type);
  return encoding.toUint8Array(e);
}

test('the server process prints only JSON lines: the URL to open, each refusal once, library console output as log lines', async (t) => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-output-'));
  t.after(() => fs.rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const p = spawnQuire({ DATA_DIR: dataDir }, port);
  t.after(() => p.kill());
  let stdout = '';
  let stderr = '';
  p.child.stdout!.on('data', (d) => (stdout += d));
  p.child.stderr!.on('data', (d) => (stderr += d));
  await ready(p);

  const owner = await p.api.signup('Output Co', 'output@example.test');
  const doc = await p.api.createDocument(owner, 'Logged');
  const outsider = await p.api.signup('Elsewhere', 'elsewhere@example.test');

  // Refused: a token that does not verify, and a valid token for a document of another workspace.
  const badToken = connect(t, p.url, doc.id, 'not-a-token', { reconnect: false });
  const otherWorkspace = connect(t, p.url, doc.id, outsider.accessToken, { reconnect: false });
  await eventually(() => {
    assert.deepEqual(badToken.authFailures.slice(0, 1), ['invalid_token']);
    assert.deepEqual(otherWorkspace.authFailures.slice(0, 1), ['forbidden']);
  });
  badToken.destroy();
  otherWorkspace.destroy();

  // Admitted: a live edit, acknowledged once stored.
  const good = connect(t, p.url, doc.id, owner.accessToken, { reconnect: false });
  await synced(good);
  paragraphText(good.doc).insert(0, 'typed while the log is watched');
  await acked(good);

  // On an authenticated raw socket: a message type Hocuspocus has no handler for (it says so
  // on the console), then an update that cannot be applied (refused with 4400).
  const raw = await authenticatedSocket(p.url, doc.id, owner.accessToken);
  raw.send(unknownTypeFrame(doc.id, 99));
  await eventually(() => assert.match(stdout, /Unable to handle message of type 99/));
  raw.send(updateFrame(doc.id, Buffer.from('0001b2f219010500', 'hex')));
  assert.equal((await raw.closed).code, 4400);
  good.destroy();

  assert.equal(await p.stop(), 0, stdout + stderr);
  const out = parseLines('stdout', stdout);
  parseLines('stderr', stderr);

  const running = out.filter((l) => l.msg.startsWith('Quire is running at'));
  assert.equal(running.length, 1, stdout);
  assert.equal(running[0]!.msg, `Quire is running at http://localhost:${port}`);
  assert.equal(running[0]!.url, `http://localhost:${port}`);
  assert.equal(running[0]!.port, port);

  const refused = out.filter((l) => l.msg === 'document connection refused');
  assert.deepEqual(refused.map((l) => l.reason).sort(), ['forbidden', 'invalid_token'], stdout);
  assert.equal(refused.find((l) => l.reason === 'forbidden')!.user, outsider.user.id);
  assert.equal(out.filter((l) => l.msg === 'update refused').length, 1, stdout);

  const unknownType = out.filter((l) => /Unable to handle message of type 99/.test(l.msg));
  assert.equal(unknownType.length, 1, stdout);
  assert.equal(unknownType[0]!.source, 'console');
  assert.equal(unknownType[0]!.level, 50);
  // Hocuspocus' own printouts of the refusals are not there in any form.
  assert.deepEqual(
    out.filter((l) => /^\[\w+\]|because of exception/.test(l.msg)),
    [],
  );
});

test('the URL printed at start-up is one a person can open', () => {
  for (const host of ['0.0.0.0', '::', '127.0.0.1', '::1', 'localhost']) assert.equal(openableUrl(host, 8080), 'http://localhost:8080', host);
  assert.equal(openableUrl('192.168.1.20', 3000), 'http://192.168.1.20:3000');
  assert.equal(openableUrl('fd00::7', 3000), 'http://[fd00::7]:3000');
  assert.equal(openableUrl('quire.internal', 80), 'http://quire.internal:80');
});
