export const healthRoute = {
  tags: ['operations'],
  summary: 'The gateway process is up',
  response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
} as const;

export const readinessRoute = {
  tags: ['operations'],
  summary: 'The peer is reachable and its ledger readable',
  response: {
    200: {
      type: 'object',
      properties: {
        status: { type: 'string' },
        org: { type: 'string' },
        blockHeight: { type: 'integer' },
        secondsSinceNewBlock: { type: 'integer' },
      },
    },
    503: { type: 'object', properties: { status: { type: 'string' }, reason: { type: 'string' } } },
  },
} as const;
