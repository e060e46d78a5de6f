/**
 * The api role: REST API v1 routes and the web app's static files.
 */
import { notFound } from '../../lib/errors.js';
import { StaticSite } from '../http/static.js';
import { auditRoutes } from '../routes/audit.js';
import { authRoutes } from '../routes/auth.js';
import { collectionRoutes } from '../routes/collections.js';
import { commentRoutes } from '../routes/comments.js';
import { importExportRoutes } from '../routes/import-export.js';
import { attachmentRoutes } from '../routes/attachments.js';
import { documentRoutes } from '../routes/documents.js';
import { historyRoutes } from '../routes/history.js';
import { mlRoutes } from '../routes/ml.js';
import { notificationRoutes } from '../routes/notifications.js';
import { openApiRoutes } from '../routes/openapi.js';
import { publicLinkRoutes } from '../routes/public-links.js';
import { pushRoutes } from '../routes/push.js';
import { reviewRoutes } from '../routes/reviews.js';
import { searchRoutes } from '../routes/search.js';
import { sessionRoutes } from '../routes/sessions.js';
import { mfaRoutes } from '../routes/mfa.js';
import { apiKeyRoutes } from '../routes/api-keys.js';
import { ssoRoutes } from '../routes/sso.js';
import { unsubscribeRoutes } from '../routes/unsubscribe.js';
import { userRoutes } from '../routes/users.js';
import { invitationRoutes } from '../routes/invitations.js';
import { workspaceRoutes } from '../routes/workspace.js';
import { workspaceDataRoutes } from '../routes/workspace-data.js';
import { webhookRoutes } from '../routes/webhooks.js';
import type { Shared } from './shared.js';

export async function startApi(shared: Shared): Promise<void> {
  const { routes, config, log, edge } = shared;
  authRoutes(routes);
  sessionRoutes(routes);
  mfaRoutes(routes);
  apiKeyRoutes(routes);
  userRoutes(routes);
  workspaceRoutes(routes);
  workspaceDataRoutes(routes);
  documentRoutes(routes);
  commentRoutes(routes);
  importExportRoutes(routes);
  attachmentRoutes(routes);
  reviewRoutes(routes);
  historyRoutes(routes);
  publicLinkRoutes(routes);
  collectionRoutes(routes);
  searchRoutes(routes);
  mlRoutes(routes);
  pushRoutes(routes);
  unsubscribeRoutes(routes);
  notificationRoutes(routes);
  auditRoutes(routes);
  invitationRoutes(routes);
  ssoRoutes(routes);
  webhookRoutes(routes);
  openApiRoutes(routes);
  const site = config.web.enabled ? await StaticSite.load(config.web.dir) : null;
  if (config.web.enabled && !site) log.warn({ cat: 'app', dir: config.web.dir }, 'web app not built: run `npm run build:web` to serve it at /');
  edge.fallback((req) => {
    const res = site?.serve(req);
    if (res) return res;
    throw notFound('route');
  }, 'static');
}
