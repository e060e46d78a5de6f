/**
 * Every trace in test/fixtures/traces replayed through real provider clients against a running
 * server: the text must equal `endContent` on every client, via REST, and again after the
 * server restarts and loads the document cold from Postgres.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as Y from 'yjs';
import { acked, connect, paragraphText, readParagraph, synced, type Client } from './helpers/provider.js';
import { startServer } from './helpers/server.js';
import { applyPatches, concurrentUpdates, loadTrace, traceNames, type ConcurrentTrace, type SequentialTrace } from './helpers/traces.js';
import { eventually } from './helpers/wait.js';

for (const name of traceNames()) {
  test(`trace ${name} replays to its endContent on every client, over REST and after a restart`, async (t) => {
    const first = await startServer(t);
    const s = await first.api.signup();
    const doc = await first.api.createDocument(s, name);
    const trace = loadTrace(name);
    const clients: Client[] = [];
    const t0 = Date.now();
    if ('kind' in trace && trace.kind === 'concurrent') {
      const ct = trace as ConcurrentTrace;
      for (let a = 0; a < ct.numAgents; a++) clients.push(connect(t, first.url, doc.id, s.accessToken));
      await Promise.all(clients.map((c) => synced(c)));
      for (const { agent, updates } of concurrentUpdates(ct, paragraphText)) {
        const d = clients[agent]!.doc;
        d.transact(() => updates.forEach((u) => Y.applyUpdate(d, u)), 'trace');
      }
    } else {
      const st = trace as SequentialTrace;
      const c = connect(t, first.url, doc.id, s.accessToken);
      clients.push(c);
      await synced(c);
      const text = paragraphText(c.doc);
      if (st.startContent) text.insert(0, st.startContent);
      for (const txn of st.txns) c.doc.transact(() => applyPatches(text, txn.patches));
      clients.push(connect(t, first.url, doc.id, s.accessToken));
    }
    await Promise.all(clients.map((c) => acked(c, 120_000)));
    t.diagnostic(`${name}: ${trace.txns.length} transactions acknowledged in ${Date.now() - t0} ms`);
    for (const c of clients) {
      await eventually(() => assert.equal(readParagraph(c.doc), trace.endContent), { timeoutMs: 60_000, message: 'client converged' });
    }
    assert.equal((await first.api.get(`/api/v1/documents/${doc.id}/content`, s.accessToken)).text, trace.endContent);
    for (const c of clients) c.destroy();
    await first.quire.close();

    const second = await startServer(t, { schema: first.schema });
    const cold = await second.api.get(`/api/v1/documents/${doc.id}/content`, s.accessToken);
    assert.equal(cold.text, trace.endContent);
    const fresh = connect(t, second.url, doc.id, s.accessToken);
    await synced(fresh);
    await eventually(() => assert.equal(readParagraph(fresh.doc), trace.endContent));
  });
}
