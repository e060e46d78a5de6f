/** `/api/v1/ml/classifiers`: train (202, runs in the workers), status and metrics, predict. */
import { z } from 'zod';
import { getClassifier, MAX_EXAMPLE_CHARS, MAX_EXAMPLES, predictWith, requestTraining } from '../commands/classifiers.js';
import { readJson } from '../http/validate.js';
import { authenticate, pathId, type RouteContext } from './context.js';

const Train = z.strictObject({
  name: z.string().trim().min(1).max(100),
  examples: z
    .array(z.strictObject({ text: z.string().trim().min(1).max(MAX_EXAMPLE_CHARS), label: z.string().trim().min(1).max(100) }))
    .min(4)
    .max(MAX_EXAMPLES),
});
const Predict = z.strictObject({ text: z.string().trim().min(1).max(MAX_EXAMPLE_CHARS) });

export function mlRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  edge.route('post', '/api/v1/ml/classifiers', async (req) => {
    const p = await authenticate(ctx, req);
    const body = readJson(req, Train);
    return { status: 202, json: await requestTraining(svc, p, req.ip, body) };
  });
  edge.route('get', '/api/v1/ml/classifiers/:id', async (req) => {
    const p = await authenticate(ctx, req);
    return { status: 200, json: await getClassifier(svc, p, req.ip, { id: pathId(req, 'id', 'classifier') }) };
  });
  edge.route('post', '/api/v1/ml/classifiers/:id/predict', async (req) => {
    const p = await authenticate(ctx, req);
    const id = pathId(req, 'id', 'classifier');
    const body = readJson(req, Predict);
    return { status: 200, json: await predictWith(svc, p, req.ip, { id, text: body.text }) };
  });
}
