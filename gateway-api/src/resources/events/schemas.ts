import { resourceRoutes } from '../../http/routes';
import { errorResponses } from '../common/schemas';

export const eventsRoute = resourceRoutes('slots')(
  'Server-sent events: slot-opened and dispatch-published (HEMS devices: their own bus), window-opened, orders-revealed, window-cleared, delivery-reports-closed and window-settled; resumes after Last-Event-ID',
  {
    headers: {
      type: 'object',
      properties: { 'last-event-id': { type: 'string', maxLength: 200 } },
    },
    response: {
      200: {
        description:
          'text/event-stream of `slot-opened`, `dispatch-published`, `window-opened`, `orders-revealed`, `window-cleared`, `delivery-reports-closed`, `window-settled` and `reset` events',
        // OpenAPI before 3.2 states an event stream's schema per event: its fields as parsed.
        content: {
          'text/event-stream': {
            schema: {
              type: 'object',
              required: ['data'],
              properties: {
                event: { type: 'string' },
                data: { type: 'string', description: 'JSON of the event' },
                id: { type: 'string' },
                retry: { type: 'string' },
              },
            },
          },
        },
      },
      // The caller already has its maximum of open streams (TOO_MANY_STREAMS).
      ...errorResponses(429),
    },
  },
);
