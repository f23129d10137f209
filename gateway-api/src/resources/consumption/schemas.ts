import { resourceRoutes } from '../../http/routes';
import { answerObject, signedBody, slotIdParams, text } from '../common/schemas';
import { publicationResponse } from '../aggregates/schemas';

const route = resourceRoutes('slots');

export const consumptionBody = signedBody(
  'The exact JSON text the device signed: {"slotId","drawnKw","nonce"} (kW drawn during the slot, at most 3 decimals; base64 nonce of >= 16 bytes)',
);

export const consumptionReceipt = answerObject({ slotId: text, txId: text, recordedAt: text });

export const reportConsumptionRoute = route(
  "HEMS device: report its signed drawn power after dispatch (once per slot, before settlement); relayed as the utility's relay identity, checked against the home's allowed power on the utility's peer",
  { roles: ['hems'], params: slotIdParams, body: consumptionBody, response: { 201: consumptionReceipt } },
);

export const publishConsumptionRoute = route(
  "Publish this utility's per-bus consumption summaries of a dispatched slot (Σ drawn kW and non-compliant homes, only the home count below k); asked of each utility gateway",
  { roles: ['dso', 'admin', 'relay'], params: slotIdParams, response: { 200: publicationResponse } },
);
