/**
 * The password strength policy: a new password (at signup, when an owner or admin creates a
 * user, when a user changes theirs) must score at least 3 of 4 with zxcvbn (`@zxcvbn-ts`,
 * common and English dictionaries), which estimates how many guesses a cracker would need —
 * dictionary words, common passwords, names, keyboard walks, repeats, sequences, dates and
 * l33t spellings — rather than counting character classes. The account's own words (its
 * email, its name, the workspace name) count as known words, so `alice@…` choosing
 * `alice2024!` scores low. The length rule (`PASSWORD_MIN_LENGTH`) is checked before this.
 *
 * Cost: the estimator loads its dictionaries on first use (~0.5 s, ~20 MB of heap), and a
 * check runs on the event loop. Its cost grows with the length and, steeply, with the l33t
 * substitutions it tries (a 256-character password of digits and symbols took seconds with
 * the defaults), so it looks at the first 64 characters (more can only add strength) with at
 * most 10 substitution variants: a few ms for a typical password, ~50 ms at worst.
 */
import type { PasswordStrength } from '../contract/api.js';
import { badRequest } from './errors.js';

/** The lowest zxcvbn score (0–4) a new password may have: 3, "safely unguessable" (~10^8 guesses and more). */
export const PASSWORD_MIN_SCORE = 3;
/** Characters of a password the estimator looks at. */
export const PASSWORD_STRENGTH_MAX_CHARS = 64;

interface Estimator {
  check(password: string, userInputs?: (string | number)[]): { score: number; feedback: { warning: string | null; suggestions: string[] } };
}

let estimator: Promise<Estimator> | undefined;

/** The estimator, loaded once per process on first use. */
function loadEstimator(): Promise<Estimator> {
  estimator ??= (async () => {
    const [{ ZxcvbnFactory }, common, en] = await Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common'), import('@zxcvbn-ts/language-en')]);
    return new ZxcvbnFactory({
      dictionary: { ...common.dictionary, ...en.dictionary },
      graphs: common.adjacencyGraphs,
      translations: en.translations,
      maxLength: PASSWORD_STRENGTH_MAX_CHARS,
      l33tMaxSubstitutions: 10,
    });
  })();
  estimator.catch(() => {
    estimator = undefined;
  });
  return estimator;
}

/**
 * What the account is known by, as words a guesser would try first: each value as given
 * (lower case) and its pieces — an email's local part and domain labels, a name's words —
 * each of 3 characters or more (shorter ones would match inside any password).
 */
export function personalWords(values: readonly (string | null | undefined)[]): string[] {
  const words = new Set<string>();
  for (const value of values) {
    const v = value?.trim().toLowerCase();
    if (!v) continue;
    const [local, domain] = v.split('@', 2);
    const pieces = [v, ...(domain !== undefined && local ? [local] : []), ...v.split(/[^\p{L}\p{N}]+/u)];
    for (const piece of pieces) if (piece.length >= 3) words.add(piece);
  }
  return [...words];
}

/** The estimate for a password, given the words the account is known by (see `personalWords`). */
export async function passwordStrength(password: string, knownWords: readonly (string | null | undefined)[] = []): Promise<PasswordStrength & { acceptable: boolean }> {
  const z = await loadEstimator();
  const r = z.check(password, personalWords(knownWords));
  return { score: r.score, warning: r.feedback.warning || null, suggestions: [...r.feedback.suggestions], acceptable: r.score >= PASSWORD_MIN_SCORE };
}

/**
 * Refuses a password the policy finds too easy to guess: `400 weak_password`, its message a
 * sentence a person can act on, its `details` the estimate (`PasswordStrength`).
 */
export async function assertStrongPassword(password: string, knownWords: readonly (string | null | undefined)[] = []): Promise<void> {
  const { acceptable, score, warning, suggestions } = await passwordStrength(password, knownWords);
  if (acceptable) return;
  const why = warning ?? suggestions[0] ?? 'Use a longer phrase of several uncommon words.';
  const details: PasswordStrength = { score, warning, suggestions };
  throw badRequest('weak_password', `This password is too easy to guess. ${why}`, details);
}
