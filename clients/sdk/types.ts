/**
 * The public REST contract (v1) as TypeScript types: the server's own, from `contract/api.ts`
 * (the server's commands return these types, so the two cannot drift).
 */
export type * from '../../contract/api.js';
