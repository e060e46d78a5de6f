/**
 * Parsed classifier models by version, so a prediction or a document label does not parse a
 * stored model (up to a few MiB of JSON) each time. A version's model changes only when its
 * training stage moves on, which changes `updated_at`: the key includes it.
 */
import { loadTenantModel, type LoadedModel } from './tenant-model.js';

/**
 * Models kept per process. A model is ≤ 4 MiB of weights (see `ngramDimensionsFor`).
 * @default 32
 */
export const MODEL_CACHE_SIZE = 32;

export class ModelCache {
  private readonly entries = new Map<string, LoadedModel>();

  constructor(private readonly size = MODEL_CACHE_SIZE) {}

  /** Cache key of a version's current model. */
  static key(id: string, updatedAt: Date | string): string {
    return `${id}@${updatedAt instanceof Date ? updatedAt.toISOString() : updatedAt}`;
  }

  /** The cached model, or the one `load` reads (then parsed and cached). */
  async get(key: string, load: () => Promise<unknown>): Promise<LoadedModel> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const model = loadTenantModel(await load());
    this.entries.set(key, model);
    while (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value as string);
    return model;
  }
}
