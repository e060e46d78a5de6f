/**
 * Account email: invitations and password reset links, sent at once through `SMTP_URL`
 * (nodemailer), unlike notification email, which goes through an outbox and a digest window
 * (ml-workers/notify). The person is waiting for this one; if it cannot be sent the caller
 * hears so and decides (see server/commands/invitations.ts, password-resets.ts).
 *
 * The links carry their secret in the fragment (`#token=…`): browsers send no fragment to the
 * server, so the token stays out of access logs and `Referer` headers. Everything that comes
 * from people (workspace and inviter names) is escaped in the HTML and kept on one line in
 * the subject.
 */
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { escapeHtml } from '../../ml-workers/notify/email.js';

export interface RenderedAccountEmail {
  subject: string;
  text: string;
  html: string;
}

/** Where the SMTP server is and who mail comes from (the notification settings of the config). */
export interface MailSettings {
  smtpUrl?: string;
  from: string;
}

const oneLine = (s: string) => s.replace(/[\r\n\t]+/g, ' ').trim();

const ROLE_WORDS: Record<string, string> = {
  admin: 'an admin',
  member: 'a member',
  guest: 'a guest',
};

const when = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

function page(title: string, paragraphs: string[], action: { label: string; url: string }, footer: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font:15px/1.5 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2328;margin:0;padding:24px">
<div style="max-width:560px;margin:0 auto">
${paragraphs.map((p) => `<p style="margin:0 0 12px">${escapeHtml(p)}</p>`).join('\n')}
<p style="margin:16px 0"><a href="${escapeHtml(action.url)}" style="display:inline-block;background:#0969da;color:#ffffff;text-decoration:none;padding:8px 16px;border-radius:6px">${escapeHtml(action.label)}</a></p>
<p style="margin:0 0 12px;font-size:13px;color:#57606a">Or open this link: <a href="${escapeHtml(action.url)}" style="color:#0969da;word-break:break-all">${escapeHtml(action.url)}</a></p>
<p style="font-size:12px;color:#57606a;margin-top:24px">${escapeHtml(footer)}</p>
</div></body></html>`;
}

export function invitationEmail(p: { workspace: string; inviter: string | null; role: string; link: string; expiresAt: Date }): RenderedAccountEmail {
  const who = p.inviter ? oneLine(p.inviter) : 'Someone';
  const workspace = oneLine(p.workspace);
  const subject = `${who} invited you to ${workspace} on Quire`;
  const lead = `${who} invited you to join the ${workspace} workspace on Quire as ${ROLE_WORDS[p.role] ?? p.role}.`;
  const how = `Open the link to choose your password. It works once, until ${when(p.expiresAt)}.`;
  const footer = 'If you did not expect this invitation, you can ignore this email: no account is made unless the link is used.';
  return {
    subject,
    text: [lead, '', how, p.link, '', '—', footer].join('\n'),
    html: page(subject, [lead, how], { label: 'Accept the invitation', url: p.link }, footer),
  };
}

export function passwordResetEmail(p: { workspace: string; link: string; expiresAt: Date }): RenderedAccountEmail {
  const workspace = oneLine(p.workspace);
  const subject = 'Reset your Quire password';
  const lead = `Someone asked to reset the password of your account in the ${workspace} workspace on Quire.`;
  const how = `Open the link to choose a new password. It works once, until ${when(p.expiresAt)}, and signs you out on every device.`;
  const footer = 'If you did not ask for this, ignore this email: your password stays as it is.';
  return {
    subject,
    text: [lead, '', how, p.link, '', '—', footer].join('\n'),
    html: page(subject, [lead, how], { label: 'Choose a new password', url: p.link }, footer),
  };
}

/** Sends one message; rejects with the SMTP server's answer (or the connection's failure). Bounded in time. */
export async function sendAccountEmail(settings: MailSettings, to: string, email: RenderedAccountEmail): Promise<void> {
  if (!settings.smtpUrl) throw new Error('no SMTP server is configured');
  const transport = nodemailer.createTransport({ url: settings.smtpUrl, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 } satisfies SMTPTransport.Options);
  try {
    await transport.sendMail({
      from: settings.from,
      to,
      subject: email.subject,
      text: email.text,
      html: email.html,
      headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
    });
  } finally {
    transport.close();
  }
}

/** A sentence about a failed send for the admin: the server's reply, never the SMTP URL (it may hold credentials). */
export function describeSendError(e: unknown): string {
  const err = e as { responseCode?: number; response?: string; code?: string; message?: string };
  if (typeof err.responseCode === 'number') return `the mail server refused it (${err.responseCode}${err.response ? `: ${oneLine(err.response).slice(0, 200)}` : ''})`;
  if (err.code === 'ECONNREFUSED' || err.code === 'ESOCKET' || err.code === 'ETIMEDOUT' || err.code === 'ECONNECTION') return 'the mail server could not be reached';
  return 'the mail server did not take it';
}
