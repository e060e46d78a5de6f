/**
 * Webhooks: the REST shapes of `/api/v1/webhooks` and the events endpoints receive
 * (docs/WEBHOOKS.md). Events carry ids and metadata, never document content.
 */

/** Events an endpoint can subscribe to. */
export const WEBHOOK_EVENT_TYPES = ['document.created', 'document.changed', 'document.deleted', 'document.shared', 'comment.created', 'review.decided', 'document.classified'] as const;
/** One of `WEBHOOK_EVENT_TYPES`. */
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Sent by `POST /api/v1/webhooks/:id/test`; every endpoint receives it whatever it subscribed to. */
export const WEBHOOK_TEST_EVENT = 'webhook.test';

/** Limits of the API (also enforced by the database). */
export const WEBHOOK_LIMITS = {
  /** Endpoints per workspace. */
  endpointsPerWorkspace: 20,
  urlChars: 2048,
  descriptionChars: 500,
  /** Delivery log page size. */
  maxPageSize: 100,
  /** Deliveries one replay may queue again. */
  maxReplay: 10_000,
  /** How long the delivery log (and so replay) reaches back. */
  logRetentionDays: 30,
  /** A rotated-out secret keeps signing at most this long. */
  previousSecretHours: 24,
} as const;

/** What a receiver gets (the JSON body of the POST). */
export interface WebhookEvent<T extends Record<string, unknown> = Record<string, unknown>> {
  /** The idempotency id: equal to the `webhook-id` header, the same on every retry and replay. */
  id: string;
  type: WebhookEventType | typeof WEBHOOK_TEST_EVENT;
  /** When the event happened (ISO 8601). */
  createdAt: string;
  tenantId: string;
  data: T;
}

/** Whether an endpoint is receiving (`active`), its last attempt failed (`failing`), or it is turned off (`disabled`). */
export type WebhookEndpointStatus = 'active' | 'failing' | 'disabled';

/** An endpoint of the workspace that receives events (`GET /api/v1/webhooks`; owners and admins). */
export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string;
  events: WebhookEventType[];
  enabled: boolean;
  /** `failing`: the last attempt failed; `disabled`: turned off by an admin, or by the worker after failing for days (`disabledReason`). */
  status: WebhookEndpointStatus;
  disabledReason: 'failing' | null;
  consecutiveFailures: number;
  failingSince: string | null;
  lastSuccessAt: string | null;
  /** Set while a rotated-out secret still signs beside the current one. */
  previousSecretExpiresAt: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

/** `GET /api/v1/webhooks`: the workspace's endpoints. */
export interface WebhookEndpointList {
  endpoints: WebhookEndpoint[];
}

/** `POST /api/v1/webhooks`: the URL to POST events to and the events it subscribes to; answers `WebhookEndpointWithSecret`. */
export interface CreateWebhookRequest {
  url: string;
  events: WebhookEventType[];
  description?: string;
  enabled?: boolean;
}

/** `PATCH /api/v1/webhooks/:id`: the fields to change. */
export interface UpdateWebhookRequest {
  url?: string;
  events?: WebhookEventType[];
  description?: string;
  enabled?: boolean;
}

/** Answered once, at creation and at rotation: the signing secret (`whsec_…`). */
export interface WebhookEndpointWithSecret {
  endpoint: WebhookEndpoint;
  secret: string;
}

/** `POST /api/v1/webhooks/:id/rotate-secret`: a new signing secret; answers `WebhookEndpointWithSecret`. */
export interface RotateWebhookSecretRequest {
  /** How long the previous secret keeps signing, in hours (0: stops at once). @default 24 */
  previousSecretHours?: number;
}

/** Where one delivery stands: still trying (`pending`), answered 2xx (`delivered`), or given up (`failed`). */
export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event sent (or being sent) to one endpoint, with its last attempt. */
export interface WebhookDelivery {
  id: string;
  endpointId: string;
  /** The idempotency id (`webhook-id`). */
  eventId: string;
  eventType: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  /** The HTTP status of the last answer (null: none came, see `lastError`). */
  lastStatus: number | null;
  lastError: string | null;
  lastDurationMs: number | null;
  lastAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** `GET /api/v1/webhooks/:id/deliveries`: the delivery log, newest first. */
export interface WebhookDeliveryList {
  deliveries: WebhookDelivery[];
  /** Pass as `cursor` for the next (older) page; null at the end. */
  nextCursor: string | null;
}

/** `POST /api/v1/webhooks/:id/replay`: delivers an endpoint's past events again. */
export interface ReplayWebhookRequest {
  /** Re-delivers this endpoint's events created at or after this time (ISO 8601), with their ids. */
  since: string;
}

/** How many deliveries a replay queued. */
export interface ReplayWebhookResult {
  queued: number;
}

/** `POST /api/v1/webhooks/:id/test`: the delivery of a `webhook.test` event. */
export interface WebhookTestResult {
  delivery: WebhookDelivery;
}
