import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../lib/config.js';

test('defaults give the embedded profile on port 8080 with every role', () => {
  const c = loadConfig({}, ['node', 'main']);
  assert.equal(c.port, 8080);
  assert.equal(c.database.url, undefined);
  assert.deepEqual(c.roles, ['api', 'sync', 'worker']);
  assert.ok(c.dataDir.endsWith('/data'), "c.dataDir.endsWith('/data')");
  assert.equal(c.jwt.accessTtlSeconds, 900);
  assert.equal(c.http.maxBodyBytes, 1_048_576);
});

test('a bad configuration names every problem at once', () => {
  try {
    loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', JWT_PRIVATE_KEY: 'pem-only', LOG_LEVEL: 'loud', DATABASE_SCHEMA: 'Bad-Name' }, ['node', 'main', '--roles=api,cook']);
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof ConfigError, 'e instanceof ConfigError');
    const text = e.problems.join('\n');
    for (const needle of ['--roles', 'PORT', 'DATABASE_URL', 'LOG_LEVEL', 'DATABASE_SCHEMA']) assert.match(text, new RegExp(needle));
    assert.equal(e.problems.length, 5, text);
  }
  assert.throws(() => loadConfig({ JWT_PRIVATE_KEY: 'x' }, ['node']), /must be set together/);
});

test('roles come from --roles', () => {
  assert.deepEqual(loadConfig({}, ['node', 'main', '--roles=api,sync']).roles, ['api', 'sync']);
});
