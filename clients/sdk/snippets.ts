/**
 * Search snippets arrive HTML-escaped with `<mark>` around matches. `snippetParts` turns
 * one into plain-text parts so a UI can render highlights without `innerHTML`.
 */
/** A run of a snippet's plain text, highlighted (a match) or not. */
export interface SnippetPart {
  /** Plain text (entities decoded): render it as text, never as HTML. */
  text: string;
  /** Whether it was inside `<mark>`. */
  highlight: boolean;
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#x27;': "'" };

function unescape(s: string): string {
  return s.replace(/&(?:amp|lt|gt|quot|#39|#x27);/g, (m) => ENTITIES[m] ?? m);
}

/** Splits a search snippet into plain-text parts, the `<mark>`ed ones flagged. */
export function snippetParts(snippet: string): SnippetPart[] {
  const parts: SnippetPart[] = [];
  const re = /<mark>([\s\S]*?)<\/mark>/g;
  let last = 0;
  for (let m = re.exec(snippet); m; m = re.exec(snippet)) {
    if (m.index > last) parts.push({ text: unescape(snippet.slice(last, m.index)), highlight: false });
    parts.push({ text: unescape(m[1] ?? ''), highlight: true });
    last = m.index + m[0].length;
  }
  if (last < snippet.length) parts.push({ text: unescape(snippet.slice(last)), highlight: false });
  return parts;
}
