/**
 * Classification quality metrics over parallel arrays of true and predicted labels.
 * Pure functions, no dependencies; used by `train.ts` for the held-out evaluation and by
 * `scripts/train-default.ts` for the baseline.
 */

/** Confusion matrix: `matrix[i][j]` counts examples whose true label is `labels[i]` and predicted label is `labels[j]`. */
export interface ConfusionMatrix {
  labels: string[];
  matrix: number[][];
}

function checkLengths(truth: readonly string[], predicted: readonly string[]): void {
  if (truth.length !== predicted.length) {
    throw new Error(`metrics: ${truth.length} true labels but ${predicted.length} predictions`);
  }
  if (truth.length === 0) throw new Error('metrics: no examples to evaluate');
}

/** Sorted union of the labels that occur in either array. */
function labelUnion(truth: readonly string[], predicted: readonly string[]): string[] {
  return [...new Set([...truth, ...predicted])].sort();
}

/** Fraction of positions where `predicted[i] === truth[i]`. Throws on empty or mismatched input. */
export function accuracy(truth: readonly string[], predicted: readonly string[]): number {
  checkLengths(truth, predicted);
  let correct = 0;
  for (let i = 0; i < truth.length; i++) if (truth[i] === predicted[i]) correct++;
  return correct / truth.length;
}

/**
 * Confusion matrix over `labels` (default: sorted union of true and predicted labels).
 * A label outside the given `labels` list is an error.
 */
export function confusion(truth: readonly string[], predicted: readonly string[], labels?: readonly string[]): ConfusionMatrix {
  checkLengths(truth, predicted);
  const order = labels ? [...labels] : labelUnion(truth, predicted);
  const index = new Map(order.map((label, i) => [label, i]));
  const matrix = order.map(() => order.map(() => 0));
  for (let i = 0; i < truth.length; i++) {
    const t = index.get(truth[i] as string);
    const p = index.get(predicted[i] as string);
    if (t === undefined || p === undefined) {
      throw new Error(`confusion: label "${t === undefined ? truth[i] : predicted[i]}" is not in the label list`);
    }
    (matrix[t] as number[])[p] = ((matrix[t] as number[])[p] as number) + 1;
  }
  return { labels: order, matrix };
}

/** Per-label precision, recall, F1 and support (number of true examples). */
export interface LabelScores {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/**
 * Per-label scores. F1 = 2·tp / (2·tp + fp + fn), which equals the harmonic mean of precision
 * and recall; any ratio whose denominator is 0 is reported as 0 (scikit-learn's `zero_division=0`).
 */
export function perLabelScores(truth: readonly string[], predicted: readonly string[], labels?: readonly string[]): LabelScores[] {
  const { labels: order, matrix } = confusion(truth, predicted, labels);
  return order.map((label, i) => {
    const row = matrix[i] as number[];
    const tp = row[i] as number;
    const support = row.reduce((a, b) => a + b, 0);
    let predictedCount = 0;
    for (const r of matrix) predictedCount += r[i] as number;
    const fp = predictedCount - tp;
    const fn = support - tp;
    const ratio = (num: number, den: number): number => (den === 0 ? 0 : num / den);
    return {
      label,
      precision: ratio(tp, tp + fp),
      recall: ratio(tp, tp + fn),
      f1: ratio(2 * tp, 2 * tp + fp + fn),
      support,
    };
  });
}

/**
 * Unweighted mean of the per-label F1 scores over `labels` (default: sorted union of the true
 * and predicted labels, as scikit-learn does). Every label counts equally, so a classifier
 * that ignores a rare label is penalised even when its accuracy is high.
 */
export function macroF1(truth: readonly string[], predicted: readonly string[], labels?: readonly string[]): number {
  const scores = perLabelScores(truth, predicted, labels);
  return scores.reduce((sum, s) => sum + s.f1, 0) / scores.length;
}

/** Most frequent label (ties broken by label order, so the result is deterministic). */
export function majorityLabel(labels: readonly string[]): string {
  if (labels.length === 0) throw new Error('majorityLabel: no labels');
  const counts = new Map<string, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  let best = '';
  let bestCount = -1;
  for (const [label, count] of [...counts].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (count > bestCount) {
      best = label;
      bestCount = count;
    }
  }
  return best;
}

/**
 * Majority-class baseline: always predict the most frequent training label, scored on the
 * evaluation labels. `labels` (default: union) sets the label set for macro-F1.
 */
export function majorityBaseline(trainLabels: readonly string[], evalLabels: readonly string[], labels?: readonly string[]): { label: string; accuracy: number; macroF1: number } {
  const label = majorityLabel(trainLabels);
  const predicted = evalLabels.map(() => label);
  return { label, accuracy: accuracy(evalLabels, predicted), macroF1: macroF1(evalLabels, predicted, labels) };
}
