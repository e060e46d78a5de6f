/**
 * JSON Schemas of the REST contract's types (contract/api.ts), generated from the
 * TypeScript types by ts-json-schema-generator: the response schemas of the OpenAPI document
 * (server/http/openapi/). `npm run gen:api-schemas` rewrites the committed file;
 * test/openapi.test.ts fails when it is stale.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { createGenerator } from 'ts-json-schema-generator';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const RESPONSE_SCHEMAS_FILE = path.join(root, 'server/http/openapi/response-schemas.json');

/** Every exported type of contract/api.ts as a JSON Schema (draft 2020-12) definition, as the file's text. */
export async function generateResponseSchemas(): Promise<string> {
  const generator = createGenerator({
    path: path.join(root, 'contract/api.ts'),
    tsconfig: path.join(root, 'tsconfig.json'),
    type: '*',
    expose: 'export',
    topRef: true,
    jsDoc: 'basic',
    skipTypeCheck: true,
    additionalProperties: true,
    sortProps: true,
  });
  const schema = generator.createSchema('*') as { definitions?: Record<string, unknown> };
  const definitions = Object.fromEntries(Object.entries(schema.definitions ?? {}).sort(([a], [b]) => a.localeCompare(b)));
  // OpenAPI 3.1 components keep schemas under #/components/schemas.
  const text = JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', definitions }, null, 2).replaceAll('"#/definitions/', '"#/components/schemas/');
  return prettier.format(text, { ...(await prettier.resolveConfig(RESPONSE_SCHEMAS_FILE)), filepath: RESPONSE_SCHEMAS_FILE });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  fs.writeFileSync(RESPONSE_SCHEMAS_FILE, await generateResponseSchemas());
  console.log(`wrote ${path.relative(root, RESPONSE_SCHEMAS_FILE)}`);
}
