import { resourceRoutes } from '../../http/routes';
import { integer, optionalMembers, text } from '../common/schemas';

const route = resourceRoutes('operations');

export const healthRoute = route('The gateway process is up', {
  public: true,
  response: { 200: optionalMembers({ status: text }) },
});

export const readinessRoute = route('The peer is reachable and its ledger readable', {
  public: true,
  response: {
    200: optionalMembers({ status: text, org: text, blockHeight: integer, secondsSinceNewBlock: integer }),
    503: optionalMembers({ status: text, reason: text }),
  },
});
