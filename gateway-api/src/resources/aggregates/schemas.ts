import { resourceRoutes } from '../../http/routes';
import { answerObject, boolean, integer, slotIdParams, text } from '../common/schemas';
import { slotResponse } from '../slots/schemas';
/** Per-bus outcomes of publishing this utility's aggregates or consumption summaries. */
export const publicationResponse = answerObject({
  slotId: text,
  org: text,
  buses: {
    type: 'array',
    items: answerObject({ bus: text, outcome: text }, { homes: integer, withheld: boolean }),
  },
});

const route = resourceRoutes('slots');

export const slotAggregatesRoute = route(
  'DSO and auditors: per-bus sums over all utilities, homes counted, withheld buses marked',
  { roles: ['dso', 'auditor'], params: slotIdParams, response: { 200: slotResponse } },
);

export const publishAggregatesRoute = route(
  "Publish this utility's per-bus aggregates of the slot (the DSO asks each utility gateway)",
  { roles: ['dso', 'admin', 'relay'], params: slotIdParams, response: { 200: slotResponse } },
);
