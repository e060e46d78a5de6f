/** The audit log's actions in words, and the choices the audit page's action filter offers. */
import type { AuditEntry } from '../../../sdk/index.js';

const ACTIONS: Record<string, string> = {
  'auth.signup': 'Created the workspace',
  'auth.login': 'Signed in',
  'auth.login_failed': 'Failed sign-in',
  'auth.logout': 'Signed out',
  'auth.logout_all': 'Signed out everywhere',
  'auth.refresh_reuse': 'Reused a sign-in token (the session was ended)',
  'auth.mfa_failed': 'Failed two-factor code at sign-in',
  'session.end': 'Signed out a device',
  'session.end_others': 'Signed out every other device',
  'user.sessions_ended': 'Signed a person out everywhere',
  'session.revoke': 'Signed out a session',
  'session.revoke_others': 'Signed out all other sessions',
  'session.revoke_all': 'Signed out everywhere',
  'mfa.enabled': 'Turned on two-factor sign-in',
  'mfa.disabled': 'Turned off two-factor sign-in',
  'mfa.reset': 'Reset a person’s two-factor sign-in',
  'mfa.recovery_codes_regenerated': 'Made new recovery codes',
  'mfa.code_refused': 'Entered a wrong two-factor code',
  'api_key.created': 'Created an API key',
  'api_key.revoked': 'Revoked an API key',
  'api_key.used': 'Used an API key',
  'user.create': 'Added a person',
  'user.remove': 'Removed a person',
  'user.role_change': 'Changed a role',
  'user.password_change': 'Changed their password',
  'user.password_change_failed': 'Failed password change (wrong current password)',
  'user.display_name_change': 'Changed a display name',
  'user.sessions_revoke': 'Signed a person out everywhere',
  'invitation.created': 'Invited someone',
  'invitation.resent': 'Sent an invitation again',
  'invitation.accepted': 'Accepted an invitation',
  'invitation.revoked': 'Withdrew an invitation',
  'auth.password_reset_requested': 'Asked for a password reset link',
  'auth.password_reset': 'Reset their password with a link',
  'sso.config_changed': 'Changed single sign-on settings',
  'sso.disabled': 'Turned single sign-on off',
  'workspace.rename': 'Renamed the workspace',
  'workspace.public_links': 'Changed whether public links are allowed',
  'workspace.notification_defaults': 'Changed notification defaults',
  'workspace.mfa_required': 'Changed whether two-factor sign-in is required',
  'workspace.storage_quota': "Changed the workspace's storage quota",
  'workspace.create': 'Created the workspace (operator)',
  'workspace.export': 'Exported the workspace',
  'workspace.delete_failed': 'Failed to delete the workspace (wrong password)',
  'document.create': 'Created a document',
  'document.import': 'Imported a document from a file',
  'document.export': 'Exported a document',
  'document.rename': 'Renamed a document',
  'document.delete': 'Moved a document to the trash',
  'document.restore': 'Restored a document from the trash',
  'document.purge': 'Deleted a document for good',
  'document.move': 'Moved a document',
  'document.duplicate': 'Duplicated a document',
  'document.kind': 'Changed a document’s kind',
  'document.content_put': 'Replaced a document’s content',
  'document.permission_set': 'Changed who can open a document',
  'document.link_access': 'Changed a document’s link access',
  'document.public_link_create': 'Made a public link',
  'document.public_link_revoke': 'Revoked a public link',
  'document.version_create': 'Saved a named version',
  'document.version_restore': 'Restored an earlier version',
  'comment.delete': 'Deleted a comment',
  'collection.create': 'Created a collection',
  'collection.update': 'Changed a collection',
  'collection.delete': 'Deleted a collection',
  'review.request': 'Requested a review',
  'review.approve': 'Approved a review',
  'review.reject': 'Rejected a review',
  'review.request_changes': 'Asked for changes in a review',
  'workflow.create': 'Created a review workflow',
  'workflow.update': 'Changed a review workflow',
  'classifier.train': 'Trained a classifier',
  'classifier.pin': 'Pinned a classifier version',
  'classifier.unpin': 'Unpinned a classifier version',
  'classifier.rollback': 'Rolled a classifier back',
  'classifier.delete': 'Deleted a classifier',
  'push.subscribe': 'Turned on push messages',
  'push.unsubscribe': 'Turned off push messages',
  'notifications.unsubscribed': 'Unsubscribed from emails',
  'audit.export': 'Exported the audit log',
};

/** The groups the filter offers as "every … event" (a prefix ending in "."). */
export const ACTION_GROUPS: { prefix: string; label: string }[] = [
  { prefix: 'auth.', label: 'Sign-in and sign-out' },
  { prefix: 'session.', label: 'Sessions' },
  { prefix: 'mfa.', label: 'Two-factor sign-in' },
  { prefix: 'api_key.', label: 'API keys' },
  { prefix: 'user.', label: 'People' },
  { prefix: 'invitation.', label: 'Invitations' },
  { prefix: 'sso.', label: 'Single sign-on' },
  { prefix: 'workspace.', label: 'Workspace settings' },
  { prefix: 'document.', label: 'Documents' },
  { prefix: 'collection.', label: 'Collections' },
  { prefix: 'comment.', label: 'Comments' },
  { prefix: 'review.', label: 'Reviews' },
  { prefix: 'workflow.', label: 'Review workflows' },
  { prefix: 'classifier.', label: 'Classifiers' },
  { prefix: 'audit.', label: 'Audit log' },
];

/** Single actions offered in the filter, grouped as above. */
export function actionsIn(prefix: string): { action: string; label: string }[] {
  return Object.entries(ACTIONS)
    .filter(([a]) => a.startsWith(prefix))
    .map(([action, label]) => ({ action, label }));
}

/** `user.role_change` → "Changed a role"; an action this version does not know reads as its name. */
export function actionWords(action: string): string {
  const known = ACTIONS[action];
  if (known) return known;
  const [area = '', what = ''] = action.split('.', 2);
  const words = what.replace(/_/g, ' ');
  return words ? `${area.replace(/_/g, ' ')}: ${words}` : action;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : null);

/** The detail worth a reader's eye (a role's from → to, a new name), or null. */
export function detailWords(e: AuditEntry): string | null {
  const d = e.detail;
  if (e.action === 'auth.login_failed') {
    if (isRecord(d) && d['method'] === 'sso') return `single sign-on${str(d['reason']) ? ` (${str(d['reason'])!.replace(/_/g, ' ')})` : ''}`;
    return 'wrong password';
  }
  if (!isRecord(d)) return null;
  const from = str(d['from']);
  const to = str(d['to']);
  if (from !== null && to !== null) return `${from} → ${to}`;
  if (to !== null) return `set to ${to}`;
  if (from !== null) return `cleared (was ${from})`;
  if (e.action === 'user.create' && str(d['role'])) return `as ${str(d['role'])}`;
  if (e.action === 'audit.export' && str(d['entries'])) return `${str(d['entries'])} entries`;
  if (str(d['ended'])) return `${str(d['ended'])} signed out`;
  if (e.action === 'auth.login' && d['method'] === 'sso') return 'with single sign-on';
  if (e.action === 'auth.login' && d['mfa'] === 'totp') return 'with a code from the app';
  if (e.action === 'auth.login' && d['mfa'] === 'recovery') return 'with a recovery code';
  if (e.action === 'workspace.mfa_required' && typeof d['required'] === 'boolean') return d['required'] ? 'now required' : 'no longer required';
  const name = str(d['name']) ?? str(d['title']);
  if (name) return `“${name}”`;
  return null;
}

const TARGETS: Record<string, string> = {
  api_key: 'API key',
  classifier: 'Classifier',
  collection: 'Collection',
  invitation: 'Invitation',
  push_subscription: 'Push subscription',
  session: 'Session',
  token_family: 'Session',
  workflow: 'Workflow',
  comment: 'Comment',
  review: 'Review',
};

/** A target's kind in words ("API key"), for kinds the page does not name more precisely. */
export function targetWords(type: string | null): string {
  if (!type) return 'Item';
  return TARGETS[type] ?? type.charAt(0).toUpperCase() + type.slice(1).replace(/_/g, ' ');
}
