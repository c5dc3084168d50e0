import { z } from 'zod';
import { type ApiRouter, errorSchema } from './routes.js';

/** The OpenAPI 3 document, generated from the routes' own zod schemas. */
export function openapiDocument(api: ApiRouter, serverUrl: string, version: string) {
  return {
    openapi: '3.0.3',
    info: {
      title: 'Lab Orchestrator API',
      version,
      description:
        'Labs (templates), instances (a running lab of one user), users, courses and API tokens. ' +
        'Authenticate with "Authorization: Bearer <API token>". Errors are {"error": {status, message, problems?}}; ' +
        'a problem names the field (and for labs the file and line) and the reason.',
    },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    paths: api.openapiPaths(),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      responses: {
        Error: {
          description: 'error',
          content: { 'application/json': { schema: z.toJSONSchema(errorSchema, { target: 'openapi-3.0' }) } },
        },
      },
    },
  };
}
