/**
 * The password strength estimate shown while typing: zxcvbn with the common and English
 * dictionaries, the same estimator and settings the server decides with (it has the last
 * word). Loaded on first use, so the app's first load does not carry its dictionaries.
 */
export interface Strength {
  score: number;
  warning: string | null;
  suggestions: string[];
}

/** The lowest score the server accepts (0–4). */
export const MIN_SCORE = 3;

type Check = (password: string, userInputs: string[]) => Strength;
let loading: Promise<Check> | undefined;

export function loadStrength(): Promise<Check> {
  loading ??= (async () => {
    const [{ ZxcvbnFactory }, common, en] = await Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common'), import('@zxcvbn-ts/language-en')]);
    const z = new ZxcvbnFactory({ dictionary: { ...common.dictionary, ...en.dictionary }, graphs: common.adjacencyGraphs, translations: en.translations, maxLength: 64, l33tMaxSubstitutions: 10 });
    return (password: string, userInputs: string[]) => {
      const r = z.check(password, userInputs);
      return { score: r.score, warning: r.feedback.warning, suggestions: r.feedback.suggestions };
    };
  })();
  return loading;
}

export const SCORE_WORDS = ['Very weak', 'Weak', 'Fair', 'Strong', 'Very strong'];
