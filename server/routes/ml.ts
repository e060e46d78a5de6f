/**
 * `/api/v1/ml/*`: train (202, runs in the workers), the classifier registry (list, read,
 * pin, roll back, delete), predict, the workspace's default classifier; and the training
 * labels of documents (`/api/v1/documents/:id/labels`).
 */
import { z } from 'zod';
import type { DeleteClassifierQuery, PredictRequest, SetDocumentLabelRequest, SetMlSettingsRequest, TrainClassifierRequest } from '../../contract/api.js';
import {
  deleteClassifier,
  getClassifier,
  listClassifiers,
  MAX_EXAMPLE_CHARS,
  MAX_EXAMPLES,
  MAX_PREDICT_CHARS,
  pinVersion,
  predictWith,
  requestTraining,
  rollbackClassifier,
  TRAIN_MAX_BODY_BYTES,
  unpinClassifier,
} from '../commands/classifiers.js';
import { clearDocumentLabel, getMlSettings, listDocumentLabels, setDocumentLabel, setMlSettings } from '../commands/document-labels.js';
import { badRequest } from '../../lib/errors.js';
import type { Req } from '../../lib/http/edge.js';
import { readJson, readQuery, type Accepts, type Expect } from '../http/validate.js';
import { authenticate, pathId, type RouteContext } from './context.js';

const name = z.string().trim().min(1).max(100);
const label = z.string().trim().min(1).max(100);

const Train = z.strictObject({
  name,
  examples: z
    .array(z.strictObject({ text: z.string().trim().min(1).max(MAX_EXAMPLE_CHARS), label }))
    .min(4)
    .max(MAX_EXAMPLES)
    .optional(),
  source: z.enum(['examples', 'documents']).default('examples'),
});
const Predict = z.strictObject({ text: z.string().trim().min(1).max(MAX_PREDICT_CHARS) });
const SetLabel = z.strictObject({ label });
const Settings = z.strictObject({ defaultClassifier: name.nullable() });
const DeleteQuery = z.strictObject({ scope: z.enum(['version', 'classifier']).default('version') });
// Bodies and query parameters are the contract's types (contract/api.ts): a change on one side alone fails tsc.
type _Requests = [
  Expect<Accepts<typeof Train, TrainClassifierRequest>>,
  Expect<Accepts<typeof Predict, PredictRequest>>,
  Expect<Accepts<typeof SetLabel, SetDocumentLabelRequest>>,
  Expect<Accepts<typeof Settings, SetMlSettingsRequest>>,
  Expect<Accepts<typeof DeleteQuery, DeleteClassifierQuery>>,
];

/** The classifier name in a path: 1–100 characters once trimmed. */
function pathName(req: Req): string {
  const parsed = name.safeParse(req.params['name'] ?? '');
  if (!parsed.success) throw badRequest('invalid_path', 'A classifier name has 1–100 characters');
  return parsed.data;
}

export function mlRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  edge.route(
    'post',
    '/api/v1/ml/classifiers',
    async (req) => {
      const p = await authenticate(ctx, req);
      const body = readJson(req, Train);
      return { status: 202, json: await requestTraining(svc, p, req.ip, body) };
    },
    {
      maxBodyBytes: TRAIN_MAX_BODY_BYTES,
      doc: {
        tag: 'Machine learning',
        summary: 'Train a classifier',
        description: 'From labelled examples in the body, or from the labels set on documents (`source: documents`). Training runs in the workers: 202, then poll the classifier.',
        auth: 'bearer',
        body: Train,
        status: 202,
        response: 'TrainClassifierResponse',
        example: {
          request: {
            name: 'topics',
            source: 'examples',
            examples: [
              { text: 'Invoice overdue, please pay', label: 'finance' },
              { text: 'Quarterly budget review', label: 'finance' },
              { text: 'Team offsite agenda', label: 'events' },
              { text: 'Holiday party RSVP', label: 'events' },
            ],
          },
        },
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/ml/classifiers',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await listClassifiers(svc, p, req.ip) };
    },
    { doc: { tag: 'Machine learning', summary: "List the workspace's classifiers", auth: 'bearer', status: 200, response: 'ClassifierList' } },
  );
  edge.route(
    'get',
    '/api/v1/ml/classifiers/:id',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await getClassifier(svc, p, req.ip, { id: pathId(req, 'id', 'classifier') }) };
    },
    { doc: { tag: 'Machine learning', summary: "A classifier's status and metrics", auth: 'bearer', params: { id: 'The classifier' }, status: 200, response: 'ClassifierStatus' } },
  );
  edge.route(
    'del',
    '/api/v1/ml/classifiers/:id',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'classifier');
      const { scope } = readQuery(req, DeleteQuery);
      return { status: 200, json: await deleteClassifier(svc, p, req.ip, { id, scope }) };
    },
    {
      doc: {
        tag: 'Machine learning',
        summary: 'Delete a classifier version (or the whole classifier)',
        auth: 'bearer',
        params: { id: 'The classifier' },
        query: DeleteQuery,
        status: 200,
        response: 'DeleteClassifierResponse',
      },
    },
  );
  edge.route(
    'post',
    '/api/v1/ml/classifiers/:id/pin',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await pinVersion(svc, p, req.ip, { id: pathId(req, 'id', 'classifier') }) };
    },
    { doc: { tag: 'Machine learning', summary: 'Pin this version as the one that answers', auth: 'bearer', params: { id: 'The classifier' }, status: 200, response: 'ClassifierStatus' } },
  );
  edge.route(
    'del',
    '/api/v1/ml/classifiers/:id/pin',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await unpinClassifier(svc, p, req.ip, { id: pathId(req, 'id', 'classifier') }) };
    },
    { doc: { tag: 'Machine learning', summary: 'Unpin: the newest good version answers', auth: 'bearer', params: { id: 'The classifier' }, status: 200, response: 'ClassifierStatus' } },
  );
  edge.route(
    'post',
    '/api/v1/ml/classifiers/:id/rollback',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await rollbackClassifier(svc, p, req.ip, { id: pathId(req, 'id', 'classifier') }) };
    },
    { doc: { tag: 'Machine learning', summary: 'Roll back to the previous version', auth: 'bearer', params: { id: 'The classifier' }, status: 200, response: 'ClassifierStatus' } },
  );
  edge.route(
    'post',
    '/api/v1/ml/classifiers/:id/predict',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'classifier');
      const body = readJson(req, Predict);
      return { status: 200, json: await predictWith(svc, p, req.ip, { id, text: body.text }) };
    },
    {
      doc: {
        tag: 'Machine learning',
        summary: 'Label a text',
        auth: 'bearer',
        params: { id: 'The classifier' },
        body: Predict,
        status: 200,
        response: 'ClassifierPrediction',
        example: { request: { text: 'Please settle the attached invoice' } },
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/ml/settings',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await getMlSettings(svc, p, req.ip) };
    },
    { doc: { tag: 'Machine learning', summary: "The workspace's default classifier", auth: 'bearer', status: 200, response: 'MlSettings' } },
  );
  edge.route(
    'put',
    '/api/v1/ml/settings',
    async (req) => {
      const p = await authenticate(ctx, req);
      const body = readJson(req, Settings);
      return { status: 200, json: await setMlSettings(svc, p, req.ip, body) };
    },
    {
      doc: {
        tag: 'Machine learning',
        summary: "Set the workspace's default classifier",
        auth: 'bearer',
        body: Settings,
        status: 200,
        response: 'MlSettings',
        example: { request: { defaultClassifier: 'topics' }, response: { defaultClassifier: 'topics' } },
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/documents/:id/labels',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await listDocumentLabels(svc, p, req.ip, { documentId: pathId(req, 'id', 'document') }) };
    },
    { doc: { tag: 'Machine learning', summary: "A document's training labels", auth: 'bearer', params: { id: 'The document' }, status: 200, response: 'DocumentLabelList' } },
  );
  edge.route(
    'put',
    '/api/v1/documents/:id/labels/:name',
    async (req) => {
      const p = await authenticate(ctx, req);
      const documentId = pathId(req, 'id', 'document');
      const classifier = pathName(req);
      const body = readJson(req, SetLabel);
      return { status: 200, json: await setDocumentLabel(svc, p, req.ip, { documentId, classifier, label: body.label }) };
    },
    {
      doc: {
        tag: 'Machine learning',
        summary: 'Label a document for training a classifier',
        auth: 'bearer',
        params: { id: 'The document', name: { text: 'The classifier name (1–100 characters)' } },
        body: SetLabel,
        status: 200,
        response: 'DocumentLabel',
        example: { request: { label: 'finance' } },
      },
    },
  );
  edge.route(
    'del',
    '/api/v1/documents/:id/labels/:name',
    async (req) => {
      const p = await authenticate(ctx, req);
      await clearDocumentLabel(svc, p, req.ip, { documentId: pathId(req, 'id', 'document'), classifier: pathName(req) });
      return { status: 204 };
    },
    {
      doc: {
        tag: 'Machine learning',
        summary: "Remove a document's training label",
        auth: 'bearer',
        params: { id: 'The document', name: { text: 'The classifier name' } },
        status: 204,
      },
    },
  );
}
