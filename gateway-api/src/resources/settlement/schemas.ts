import { resourceRoutes } from '../../http/routes';
import { publicObject, windowIdParams } from '../common/schemas';

export const settlementRoute = resourceRoutes('windows')(
  "Utility admin: settle its org's accounts of a delivered window (once per org; after every report, " +
    'or once the market operator closed the reports after reportBy, without the missing ones)',
  { roles: ['admin'], params: windowIdParams, response: { 200: publicObject } },
);
