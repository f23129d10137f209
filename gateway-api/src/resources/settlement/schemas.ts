import { publicObject, windowIdParams } from '../common/schemas';

export const settlementRoute = {
  tags: ['windows'],
  summary:
    "Utility admin: settle its org's accounts of a delivered window (once per org; after every report, " +
    'or after reportBy without the missing ones)',
  params: windowIdParams,
  response: { 200: publicObject },
} as const;
