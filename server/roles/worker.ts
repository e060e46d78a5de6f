/**
 * The worker role: the relay (outbox → event bus), the indexing consumer (full text,
 * embeddings, labels) and the classifier trainer. Its shutdown step stops them in the
 * order they depend on each other: the trainer, the relay's last publish, the consumer's
 * handlers in flight, then the bus; the search indexes and the store close after it.
 */
import { decodeEvent, documentKeyOf } from '../../contract/feed.js';
import { DocumentStore } from '../../core/document-store.js';
import { PoisonMessageError, type EventBus } from '../../ml-workers/bus/bus.js';
import { loadClassifierModel } from '../../ml-workers/classifier/model.js';
import { Indexer } from '../../ml-workers/indexer.js';
import { Relay } from '../../ml-workers/relay.js';
import { Trainer } from '../../ml-workers/trainer.js';
import type { SearchIndexes } from './search.js';
import type { Shared } from './shared.js';

/** The default genre classifier, trained by `npm run train:default` and committed. */
const DEFAULT_CLASSIFIER_PATH = new URL('../../ml-workers/classifier/default-model.json', import.meta.url);

export async function startWorker(shared: Shared, search: SearchIndexes): Promise<EventBus> {
  const { config, svc, log, shutdown } = shared;
  const { store } = svc;
  let bus: EventBus;
  if (config.feed.natsUrl) {
    const { NatsBus } = await import('../../ml-workers/bus/nats.js');
    bus = await NatsBus.connect({ url: config.feed.natsUrl, stream: config.feed.stream, prefix: config.feed.subjectPrefix });
  } else {
    const { MemoryBus } = await import('../../ml-workers/bus/memory.js');
    bus = new MemoryBus();
  }
  const stops: { name: string; stop: () => Promise<void> }[] = [];
  try {
    const semantic =
      svc.semantic && search.embedder
        ? {
            embedder: await search.embedder(),
            vectors: svc.semantic.vectors,
            classifier: { name: 'default', model: await loadClassifierModel(DEFAULT_CLASSIFIER_PATH) },
          }
        : undefined;
    const indexer = new Indexer({ db: store.db, store: new DocumentStore(store.db), fulltext: search.fulltext, log, semantic });
    // Events for one document fold into one run (the indexer reads current state);
    // handler slots are shared fairly between tenants (see ml-workers/bus/dispatch.ts).
    const consumer = await bus.consume({ durable: 'indexer', coalesceKey: (m) => documentKeyOf(m.data) }, async (msg) => {
      let ev;
      try {
        ev = decodeEvent(msg.data);
      } catch (e) {
        throw new PoisonMessageError(`undecodable event on ${msg.subject}`, { cause: e });
      }
      await indexer.handle(ev);
    });
    stops.push({ name: 'consumer', stop: () => consumer.stop() });
    // Without the sentence encoder, classifiers train the n-gram candidate only.
    const trainer = new Trainer({ db: store.db, embedder: search.embedder ?? undefined, log });
    trainer.start();
    stops.push({ name: 'trainer', stop: () => trainer.stop() });
    const relay = new Relay({ db: store.db, bus, subjectPrefix: config.feed.subjectPrefix, log, intervalMs: config.feed.pollMs });
    relay.start();
    stops.push({ name: 'relay', stop: () => relay.stop() });
  } finally {
    // Registered even when starting failed half-way, so what did start is stopped.
    shutdown.add('worker', async () => {
      for (const s of [...stops].reverse()) {
        try {
          await s.stop();
        } catch (err) {
          log.error({ cat: 'shutdown', step: s.name, err }, 'worker stop failed');
        }
      }
      await bus.close();
    });
  }
  return bus;
}
