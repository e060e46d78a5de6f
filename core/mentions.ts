/** How a comment body mentions someone: `@[Name](user:<uuid>)` (the name is what readers see). */
const MENTION = /@\[([^\]\n]{1,200})\]\(user:([0-9a-fA-F-]{36})\)/g;

/** The users a body mentions, in order, without repeats. */
export function mentionsIn(body: string): string[] {
  const out: string[] = [];
  for (const m of body.matchAll(MENTION)) {
    const id = m[2]!.toLowerCase();
    if (!out.includes(id)) out.push(id);
  }
  return out;
}

/** A body as a reader sees it (`@Name` for each mention), cut to `max` characters. */
export function plainExcerpt(body: string, max = 160): string {
  const text = body
    .replace(MENTION, (_m, name: string) => `@${name}`)
    .replace(/\s+/g, ' ')
    .trim();
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}
