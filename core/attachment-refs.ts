/** Which attachments a document's content refers to: uploaded images (`attachment:<id>`) and attachment cards. */
import * as Y from 'yjs';
import { attachmentIdOfSrc } from '../contract/document-schema.js';
import { FRAGMENT, MAX_READ_DEPTH } from './content.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function attachmentRefs(doc: Y.Doc, into: Set<string> = new Set()): Set<string> {
  const walk = (parent: Y.XmlFragment | Y.XmlElement, depth: number) => {
    if (depth > MAX_READ_DEPTH) return;
    for (const child of parent.toArray()) {
      if (!(child instanceof Y.XmlElement)) continue;
      if (child.nodeName === 'image') {
        const id = attachmentIdOfSrc(child.getAttribute('src'));
        if (id) into.add(id);
      } else if (child.nodeName === 'fileAttachment') {
        const id = String(child.getAttribute('id') ?? '').toLowerCase();
        if (UUID.test(id)) into.add(id);
      }
      walk(child, depth + 1);
    }
  };
  walk(doc.getXmlFragment(FRAGMENT), 1);
  return into;
}
