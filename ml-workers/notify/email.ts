/**
 * Notification email as a person reads it: the subject, a plain-text body and a simple
 * HTML body, for one notification ("Ada mentioned you in “Plan”") or a digest of several
 * ("5 new notifications in Quire").
 *
 * Every link is absolute (mail has no origin to resolve against); everything that comes
 * from people — names, titles, comment excerpts — is escaped in the HTML. The footer has
 * the one-click unsubscribe link and the notification settings.
 */
import type { NotificationKind } from '../../contract/api.js';

/** One notification in an email. */
export interface EmailItem {
  kind: NotificationKind;
  /** The line a person reads (`notificationText`). */
  text: string;
  /** Absolute link to the place it is about. */
  url: string;
  /** A comment's first words, when the notification is about one. */
  excerpt?: string;
  createdAt: Date;
}

export interface EmailInput {
  items: EmailItem[];
  /** The app's origin, for the settings link. */
  publicUrl: string;
  /** The one-click unsubscribe link (also in the `List-Unsubscribe` header). */
  unsubscribeUrl: string;
  /** The workspace's name, shown in the footer. */
  workspace?: string;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** The settings page, where every kind and channel can be turned on or off. */
export const settingsUrl = (publicUrl: string): string => `${publicUrl}/account#notifications`;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Subjects stay on one line: line breaks in a title or name become spaces. */
const oneLine = (s: string) => s.replace(/[\r\n\t]+/g, ' ').trim();

const actionLabel = (kind: NotificationKind): string => {
  switch (kind) {
    case 'mention':
    case 'reply':
      return 'View comment';
    case 'review_assigned':
    case 'deadline':
      return 'Open task';
    case 'review_decided':
      return 'View review';
    case 'share':
      return 'Open document';
  }
};

export function renderEmail(input: EmailInput): RenderedEmail {
  const { items } = input;
  if (items.length === 0) throw new Error('an email needs at least one notification');
  const single = items.length === 1 ? items[0]! : null;
  const subject = single ? oneLine(single.text) : `${items.length} new notifications in Quire`;
  const settings = settingsUrl(input.publicUrl);
  const where = input.workspace ? ` in the ${input.workspace} workspace` : '';
  // A single notification's link turns off its kind; a digest's, all notification email.
  const stop = single ? 'Stop email about this kind of notification' : 'Stop all notification email';

  const textItems = items.map((it) => [`${single ? '' : '• '}${it.text}`, ...(it.excerpt ? [`  “${it.excerpt}”`] : []), `  ${it.url}`].join('\n'));
  const text = [
    single ? '' : `You have ${items.length} new notifications${where}:\n`,
    textItems.join('\n\n'),
    '',
    '—',
    `You get this email because of your Quire notification settings${where}.`,
    `${stop}: ${input.unsubscribeUrl}`,
    `Notification settings: ${settings}`,
  ]
    .filter((l, i) => i > 0 || l !== '')
    .join('\n');

  const htmlItems = items
    .map(
      (it) =>
        `<tr><td style="padding:12px 0;border-bottom:1px solid #d0d7de">
<p style="margin:0 0 4px">${escapeHtml(it.text)}</p>${
          it.excerpt ? `\n<blockquote style="margin:4px 0;padding:0 0 0 10px;border-left:3px solid #d0d7de;color:#57606a">${escapeHtml(it.excerpt)}</blockquote>` : ''
        }
<p style="margin:4px 0 0"><a href="${escapeHtml(it.url)}" style="color:#0969da">${actionLabel(it.kind)}</a></p></td></tr>`,
    )
    .join('\n');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>
<body style="font:15px/1.5 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2328;margin:0;padding:24px">
<div style="max-width:560px;margin:0 auto">
${single ? '' : `<h1 style="font-size:18px;margin:0 0 8px">You have ${items.length} new notifications${escapeHtml(where)}</h1>\n`}<table role="presentation" style="width:100%;border-collapse:collapse">
${htmlItems}
</table>
<p style="font-size:12px;color:#57606a;margin-top:24px">You get this email because of your Quire notification settings${escapeHtml(where)}.<br>
<a href="${escapeHtml(input.unsubscribeUrl)}" style="color:#57606a">${stop}</a> · <a href="${escapeHtml(settings)}" style="color:#57606a">Notification settings</a></p>
</div></body></html>`;
  return { subject, text, html };
}
