/**
 * When a document shows a label, and which. A label is shown only when the document has
 * enough text to judge and the model is confident enough, and once shown it stays until
 * another label clearly wins or it clearly stops fitting (hysteresis): a label that flips
 * with every keystroke tells a team nothing.
 */
import type { Prediction } from './model.js';

/** Thresholds of {@link decideShownLabel}; one set for every model. */
export interface LabelPolicy {
  /** Fewer words of body text (the title not counted) than this: no label. @default 30 */
  minWords: number;
  /** A label is newly shown only at this probability or above. @default 0.55 */
  showAt: number;
  /** A shown label is kept while its probability stays at or above this… @default 0.4 */
  keepAbove: number;
  /** …and no other label beats it by this much. @default 0.15 */
  switchMargin: number;
}

/**
 * The defaults. 30 words is about two sentences: below that the built-in model labelled a
 * title-only document. 0.55 / 0.4 / 0.15: a document moves between two labels only after
 * its text clearly changed, not when a sentence is added.
 */
export const LABEL_POLICY: Readonly<LabelPolicy> = Object.freeze({ minWords: 30, showAt: 0.55, keepAbove: 0.4, switchMargin: 0.15 });

/** Why no label is shown. */
export type NoLabelReason = 'too_little_text' | 'low_confidence';

/** Decision of {@link decideShownLabel}. */
export type ShownLabel = { label: string; reason: null } | { label: null; reason: NoLabelReason };

/** Words of body text, as counted for {@link LabelPolicy.minWords}. */
export function countWords(text: string): number {
  return text.match(/[\p{L}\p{N}]+/gu)?.length ?? 0;
}

/**
 * The label to show given the new prediction and the label shown before (null: none).
 * Keeps `previous` while its probability is ≥ `keepAbove` and no label beats it by
 * `switchMargin`; otherwise shows the top label if it reaches `showAt`, else none.
 */
export function decideShownLabel(words: number, prediction: Prediction, previous: string | null, policy: LabelPolicy = LABEL_POLICY): ShownLabel {
  if (words < policy.minWords) return { label: null, reason: 'too_little_text' };
  const current = previous === null ? undefined : prediction.scores[previous];
  if (previous !== null && current !== undefined && current >= policy.keepAbove && prediction.confidence - current < policy.switchMargin) {
    return { label: previous, reason: null };
  }
  if (prediction.confidence >= policy.showAt) return { label: prediction.label, reason: null };
  return { label: null, reason: 'low_confidence' };
}

/**
 * Names people read for the built-in model's labels (Brown Corpus genre groups, see
 * `BROWN_GENRES` in `datasets.ts`). A workspace's own classifiers show their labels as given.
 */
export const BUILT_IN_LABEL_NAMES: Readonly<Record<string, string>> = Object.freeze({
  press: 'News & commentary',
  religion: 'Religion & faith',
  popular: 'Hobbies & how-to',
  belles: 'Essays & biography',
  learned: 'Reports & research',
  fiction: 'Fiction & stories',
});

/** The readable name of `label` from model `model` (`default` is the built-in one). */
export function labelName(model: string, label: string): string {
  return model === 'default' ? (BUILT_IN_LABEL_NAMES[label] ?? label) : label;
}
