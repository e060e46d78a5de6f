/**
 * Entry of the extraction process (started by extractor.ts; not meant to be run by hand):
 * extracts one file per message and sends the text or the error back. It exits when its
 * parent goes.
 */
import { extractText } from './extract.js';
import type { ExtractJob, ExtractReply } from './extractor.js';

const reply = (m: ExtractReply) => process.send?.(m);

process.on('message', (job: ExtractJob) => {
  void extractText(job.bytes, job.contentType, job.limits).then(
    (result) => reply({ id: job.id, ok: true, result }),
    (e: unknown) => reply({ id: job.id, ok: false, error: { name: e instanceof Error ? e.name : 'Error', message: e instanceof Error ? e.message : String(e) } }),
  );
});
process.on('disconnect', () => process.exit(0));
