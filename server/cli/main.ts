/**
 * `quire`: the operator's command line (`npm run quire -- <group> <command> [flags]`, or
 * `node dist/server/cli/main.js …` in the container). It reads the server's configuration
 * from the environment, like the server. Every group is a module in this folder (see
 * `command.ts`); `quire help` lists them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ConfigError, loadConfig } from '../../lib/config.js';
import { parseArgv, UsageError, type CliGroup, type CliIo } from './command.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXT = path.extname(fileURLToPath(import.meta.url));
const NOT_GROUPS = new Set(['main', 'command']);

function groupNames(): string[] {
  return fs
    .readdirSync(HERE)
    .filter((f) => f.endsWith(EXT) && !f.endsWith(`.d${EXT}`))
    .map((f) => f.slice(0, -EXT.length))
    .filter((n) => !NOT_GROUPS.has(n) && /^[a-z][a-z-]*$/.test(n))
    .sort();
}

async function loadGroup(name: string): Promise<CliGroup | null> {
  if (!groupNames().includes(name)) return null;
  const mod = (await import(`./${name}${EXT}`)) as { group?: CliGroup };
  return mod.group ?? null;
}

async function help(io: CliIo): Promise<void> {
  io.out('usage: quire <group> <command> [--flag=value …]');
  for (const name of groupNames()) {
    const g = await loadGroup(name);
    if (!g) continue;
    io.out('');
    io.out(`${name}: ${g.summary}`);
    for (const [cmd, c] of Object.entries(g.commands)) io.out(`  quire ${name} ${cmd} ${c.usage}`);
  }
}

/** Runs one command; `env` replaces the process environment (tests). */
export async function runCli(argv: string[], io: CliIo, env?: Record<string, string | undefined>): Promise<number> {
  const { positional, flags } = parseArgv(argv);
  const [groupName, commandName, ...args] = positional;
  if (!groupName || groupName === 'help' || flags.help === true) {
    await help(io);
    return groupName ? 0 : 2;
  }
  const group = await loadGroup(groupName);
  const command = group && commandName ? group.commands[commandName] : undefined;
  if (!group || !command) {
    io.err(group ? `unknown command: quire ${groupName} ${commandName ?? ''}`.trim() : `unknown group: ${groupName}`);
    await help(io);
    return 2;
  }
  let config;
  try {
    config = env ? loadConfig(env, []) : loadConfig(undefined, []);
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(`invalid configuration: ${e.problems.join('; ')}`);
      return 2;
    }
    throw e;
  }
  try {
    return await command.run({ ...io, config, args, flags });
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${e.message}\nusage: quire ${groupName} ${commandName} ${command.usage}`);
      return 2;
    }
    io.err(`failed: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runCli(process.argv.slice(2), {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
  }).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
