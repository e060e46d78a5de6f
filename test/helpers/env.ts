/** Where the test suite finds its services (started by `.ci/run` / `ops/services.sh`). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
export const TEST_MEILI_URL = process.env.TEST_MEILI_URL ?? 'http://127.0.0.1:7700';
export const TEST_QDRANT_URL = process.env.TEST_QDRANT_URL ?? 'http://127.0.0.1:6333';
/** The secrets key every test instance holds (32 bytes, base64): instances of a test share a database, so they share its sealed secrets. */
export const TEST_SECRETS_KEY = Buffer.alloc(32, 7).toString('base64');
/** The S3-compatible object store `ops/object-store.sh` starts (bucket `quire`); each test uses its own key prefix. */
export const TEST_S3 = {
  endpoint: process.env.TEST_S3_ENDPOINT ?? 'http://127.0.0.1:4569',
  region: 'us-east-1',
  bucket: process.env.TEST_S3_BUCKET ?? 'quire',
  accessKeyId: process.env.TEST_S3_ACCESS_KEY_ID ?? 'S3RVER',
  secretAccessKey: process.env.TEST_S3_SECRET_ACCESS_KEY ?? 'S3RVER',
};
