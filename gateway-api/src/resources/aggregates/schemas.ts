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

export const slotAggregatesRoute = {
  tags: ['slots'],
  summary: 'DSO and auditors: per-bus sums over all utilities, homes counted, withheld buses marked',
  params: slotIdParams,
  response: { 200: slotResponse },
} as const;

export const publishAggregatesRoute = {
  tags: ['slots'],
  summary: "Publish this utility's per-bus aggregates of the slot (the DSO asks each utility gateway)",
  params: slotIdParams,
  response: { 200: slotResponse },
} as const;
