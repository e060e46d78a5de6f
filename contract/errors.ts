/**
 * The error codes of the REST API: `{ "error": { "code", "message", "details"? } }`. The
 * server can only raise these (`AppError` takes a `ServerErrorCode`), and the SDK's
 * `QuireErrorCode` is this list plus its own client-side codes, so the two cannot drift.
 * A code is stable once shipped: clients branch on it.
 */
export const SERVER_ERROR_CODES = [
  // Authentication and sessions
  'unauthorized',
  'invalid_token',
  'token_expired',
  'invalid_credentials',
  'invalid_refresh_token',
  'refresh_token_reused',
  'account_inactive',
  'session_revoked',
  'wrong_password',
  // Permissions
  'forbidden',
  'metrics_forbidden',
  'guest_cannot_create',
  'last_owner',
  'cannot_remove_self',
  'cannot_change_own_permission',
  'public_links_disabled',
  // Not found
  'document_not_found',
  'user_not_found',
  'classifier_not_found',
  'classification_not_found',
  'label_not_found',
  'search_not_found',
  'collection_not_found',
  'public_link_not_found',
  'comment_not_found',
  'version_not_found',
  'notification_not_found',
  'workflow_not_found',
  'review_not_found',
  'task_not_found',
  'route_not_found',
  // Requests the server cannot take
  'validation_failed',
  'invalid_json',
  'invalid_path',
  'invalid_characters',
  'invalid_query',
  'invalid_cursor',
  'invalid_document',
  'too_deep',
  'document_too_deep',
  'empty_body',
  'unsupported_media_type',
  'payload_too_large',
  'email_taken',
  'weak_password',
  'password_unchanged',
  'mode_unavailable',
  'invalid_anchor',
  'not_a_thread',
  // Reviews
  'review_in_progress',
  'task_closed',
  'no_eligible_assignees',
  'workflow_archived',
  'push_unavailable',
  // Collections
  'collection_cycle',
  'collection_too_deep',
  'too_many_collections',
  // Classifiers
  'classifier_not_ready',
  'classifier_active',
  'classifier_incompatible',
  'nothing_to_roll_back',
  'too_few_examples',
  'too_many_examples',
  'too_few_labels',
  'too_many_labels',
  // Load and availability
  'rate_limited',
  'workspace_busy',
  'search_unavailable',
  'ml_unavailable',
  'sync_unavailable',
  'database_unavailable',
  'not_ready',
  'dependency_unavailable',
  'shutting_down',
  'internal_error',
  // Sessions, two-factor sign-in and API keys
  'session_not_found',
  'mfa_required',
  'mfa_enrollment_required',
  'invalid_mfa_code',
  'invalid_mfa_challenge',
  'mfa_not_enabled',
  'mfa_already_enabled',
  'mfa_required_by_workspace',
  'api_key_not_found',
  'invalid_api_key',
  'insufficient_scope',
  // Invitations and password reset
  'invitation_not_found',
  'invitation_pending',
  'already_member',
  'invalid_reset_token',
  'email_failed',
  // Single sign-on (OpenID Connect)
  'sso_not_configured',
  'sso_required',
  'sso_issuer_refused',
  'sso_discovery_failed',
  'sso_domain_taken',
  'sso_invalid_state',
  'sso_provider_error',
  'sso_token_invalid',
  'sso_nonce_mismatch',
  'sso_issuer_mismatch',
  'sso_audience_mismatch',
  'sso_token_expired',
  'sso_email_unverified',
  'sso_domain_not_allowed',
  'sso_email_taken',
  'sso_invalid_code',
  // Files, import and export
  'attachment_not_found',
  'upload_not_found',
  'webhook_not_found',
  'webhook_delivery_not_found',
  'file_too_large',
  'quota_exceeded',
  'content_type_mismatch',
  'upload_incomplete',
  'import_failed',
  'export_failed',
] as const;

/** One of `SERVER_ERROR_CODES`: the stable `error.code` of a REST error answer. */
export type ServerErrorCode = (typeof SERVER_ERROR_CODES)[number];

/** Things the API answers 404 for, each with its `<what>_not_found` code. */
export type NotFoundWhat =
  | 'document'
  | 'user'
  | 'classifier'
  | 'classification'
  | 'label'
  | 'search'
  | 'collection'
  | 'public_link'
  | 'comment'
  | 'version'
  | 'notification'
  | 'workflow'
  | 'review'
  | 'task'
  | 'route'
  | 'invitation'
  | 'session'
  | 'api_key'
  | 'attachment'
  | 'upload'
  | 'webhook'
  | 'webhook_delivery';
