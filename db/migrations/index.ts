/** The ordered list of migrations. Names sort in execution order; never rename one that shipped. */
import type { Migration } from 'kysely';
import type { MigrationContext } from './context.js';
import { foundation } from './0001-foundation.js';
import { documentLog } from './0002-document-log.js';
import { changeFeed } from './0003-change-feed.js';
import { ml } from './0004-ml.js';
import { classifiers } from './0005-classifiers.js';
import { documentTenantKeys } from './0006-document-tenant-keys.js';
import { singleDocumentKey } from './0007-single-document-key.js';
import { documentQuarantine } from './0008-document-quarantine.js';
import { accessVersions } from './0009-access-versions.js';
import { searchVocabularyAnalytics } from './0010-search-vocabulary-analytics.js';
import { classifierRegistry } from './0011-classifier-registry.js';
import { sessionVersions } from './0012-session-versions.js';
import { workspaceOrganisation } from './0013-workspace-organisation.js';
import { shareLinks } from './0014-share-links.js';
import { editTimes } from './0015-edit-times.js';
import { comments } from './0016-comments.js';
import { versionHistory } from './0017-version-history.js';
import { authorship } from './0018-authorship.js';
import { retention } from './0019-retention.js';
import { notificationsReviews } from './0020-notifications-reviews.js';
import { sessions } from './0021-sessions.js';
import { mfa } from './0022-mfa.js';
import { apiKeys } from './0023-api-keys.js';
import { invitations } from './0024-invitations.js';
import { sso } from './0025-sso.js';
import { attachments } from './0026-attachments.js';
import { traceContext } from './0027-trace-context.js';
import { signingKeys } from './0028-signing-keys.js';
import { webhooks } from './0029-webhooks.js';

export type { MigrationContext };

export function migrations(ctx: MigrationContext): Record<string, Migration> {
  return {
    '0001-foundation': foundation(ctx),
    '0002-document-log': documentLog(ctx),
    '0003-change-feed': changeFeed(ctx),
    '0004-ml': ml(ctx),
    '0005-classifiers': classifiers(ctx),
    '0006-document-tenant-keys': documentTenantKeys(ctx),
    '0007-single-document-key': singleDocumentKey(ctx),
    '0008-document-quarantine': documentQuarantine(ctx),
    '0009-access-versions': accessVersions(ctx),
    '0010-search-vocabulary-analytics': searchVocabularyAnalytics(ctx),
    '0011-classifier-registry': classifierRegistry(ctx),
    '0012-session-versions': sessionVersions(ctx),
    '0013-workspace-organisation': workspaceOrganisation(ctx),
    '0014-share-links': shareLinks(ctx),
    '0015-edit-times': editTimes(ctx),
    '0016-comments': comments(ctx),
    '0017-version-history': versionHistory(ctx),
    '0018-authorship': authorship(ctx),
    '0019-retention': retention(ctx),
    '0020-notifications-reviews': notificationsReviews(ctx),
    '0021-sessions': sessions(ctx),
    '0022-mfa': mfa(ctx),
    '0023-api-keys': apiKeys(ctx),
    '0024-invitations': invitations(ctx),
    '0025-sso': sso(ctx),
    '0026-attachments': attachments(ctx),
    '0027-trace-context': traceContext(ctx),
    '0028-signing-keys': signingKeys(ctx),
    '0029-webhooks': webhooks(ctx),
  };
}
