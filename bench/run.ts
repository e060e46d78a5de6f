/**
 * `npm run bench` runs every scenario; `npm run bench -- <scenario> [--flags]` runs one.
 * Scenarios start their own servers (Quire and its peers) and load generators.
 */
const SCENARIOS: Record<string, string> = {
  fanout: './fanout.ts',
  trace: './trace-replay.ts',
  connections: './connections.ts',
  rest: './rest.ts',
  freshness: './freshness.ts',
  'feed-fairness': './feed-fairness.ts',
  durability: './durability.ts',
  'search-scale': './search-scale.ts',
};
const [name, ...rest] = process.argv.slice(2);
const chosen = name && !name.startsWith('--') ? [name] : Object.keys(SCENARIOS);
for (const s of chosen) {
  const mod = SCENARIOS[s];
  if (!mod) {
    process.stderr.write(`unknown scenario "${s}"; available: ${Object.keys(SCENARIOS).join(', ')}\n`);
    process.exit(2);
  }
  process.argv = [process.argv[0]!, mod, ...(name && !name.startsWith('--') ? rest : process.argv.slice(2))];
  await import(mod);
}
