/**
 * The shape of an operator command (`quire <group> <command> [--flag=value …]`). Each group is
 * one module in this folder exporting `group: CliGroup`; `main.ts` finds it by name.
 */
import type { Config } from '../../lib/config.js';

export interface CliIo {
  /** Human-readable output (one line per call). */
  out: (line: string) => void;
  /** Problems and progress, on stderr. */
  err: (line: string) => void;
}

export interface CliContext extends CliIo {
  config: Config;
  /** Positional arguments after `<group> <command>`. */
  args: string[];
  /** `--name=value` and bare `--name` (value `true`) flags. */
  flags: Record<string, string | true>;
}

export interface CliCommand {
  /** One line for `quire help`, e.g. `<slug> --name=<name>  create a workspace`. */
  usage: string;
  /** Exit status: 0 done, 1 failed, 2 bad usage. */
  run: (ctx: CliContext) => Promise<number>;
}

export interface CliGroup {
  /** What the group is about, for `quire help`. */
  summary: string;
  commands: Record<string, CliCommand>;
}

/** A usage problem: reported with the command's usage line, exit status 2. */
export class UsageError extends Error {}

export function parseArgv(argv: string[]): { positional: string[]; flags: Record<string, string | true> } {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (const a of argv) {
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq === -1) flags[a.slice(2)] = true;
      else flags[a.slice(2, eq)] = a.slice(eq + 1);
    } else positional.push(a);
  }
  return { positional, flags };
}

/** A string flag's value, or `UsageError` when it is required and missing. */
export function flag(ctx: CliContext, name: string, required: true): string;
export function flag(ctx: CliContext, name: string, required?: false): string | undefined;
export function flag(ctx: CliContext, name: string, required = false): string | undefined {
  const v = ctx.flags[name];
  if (v === undefined || v === true) {
    if (required) throw new UsageError(`--${name}=<value> is required`);
    return undefined;
  }
  return v;
}
