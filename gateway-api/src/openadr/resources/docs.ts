import * as schemas from '../schemas';

/**
 * What the VTN's OpenAPI document says of each route: its tag, summary and answers. The answers'
 * schemas are the specification's objects, so Fastify serializes what the document promises and
 * the fuzzing checks every answer against it. Every refusal is a problem object.
 */

const problem = { ...schemas.common.problem, description: 'A problem object (RFC 7807)' } as const;

/** Any client error, and the server's own failure, as a problem object. */
export const problems = { '4xx': problem, '5xx': problem } as const;

/** The route's OpenAPI entry: `ok` is its status and answer. */
export function documented<const Answer>(
  tag: string,
  summary: string,
  ok: number,
  answer: Answer,
): { tags: string[]; summary: string; response: Record<string, unknown> } {
  return { tags: [tag], summary, response: { [ok]: answer, ...problems } };
}

export function listOf<const Item>(items: Item): { readonly type: 'array'; readonly items: Item } {
  return { type: 'array', items };
}

/** The answer of a write no client may make here (403). */
export function refusal(
  tag: string,
  summary: string,
): { tags: string[]; summary: string; response: typeof problems } {
  return { tags: [tag], summary, response: problems };
}

/** The token endpoint's refusals: RFC 6749 members with the problem members beside them. */
export const tokenError = {
  type: 'object',
  required: ['error'],
  properties: {
    error: { type: 'string' },
    error_description: { type: 'string' },
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
  },
} as const;
