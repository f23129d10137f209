import { resourceRoutes } from '../../http/routes';
import { answerObject, signedBody, slotIdParams, text } from '../common/schemas';

export const forecastBody = signedBody(
  'The exact JSON text the device signed: {"slotId","lower","upper","nonce"} (kW, base64 nonce of >= 16 bytes)',
);

export const forecastReceipt = answerObject({ slotId: text, txId: text, acceptedAt: text });

export const submitForecastRoute = resourceRoutes('slots')(
  "HEMS device: submit its signed forecast range; relayed as the utility's relay identity",
  { roles: ['hems'], params: slotIdParams, body: forecastBody, response: { 201: forecastReceipt } },
);
