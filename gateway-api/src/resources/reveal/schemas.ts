import { resourceRoutes } from '../../http/routes';
import { answerObject, integer, listBodyLimit, text, windowIdParams } from '../common/schemas';
import { MAX_RELEASE_ACCOUNTS } from '@hems/protocol';

const route = resourceRoutes('windows');

/** The body limit of a release with the most accounts the chaincode takes (acct- + 32 hex each). */
export const RELEASE_BODY_LIMIT = listBodyLimit(`acct-${'f'.repeat(32)}`, MAX_RELEASE_ACCOUNTS);

export const releaseBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    accounts: {
      type: 'array',
      maxItems: MAX_RELEASE_ACCOUNTS,
      uniqueItems: true,
      description:
        "Accounts of this utility whose order in the window was not revealed: each one's escrow is refunded in full",
      items: { type: 'string', pattern: '^acct-[0-9a-f]{32}$' },
    },
  },
} as const;

export const released = answerObject({
  windowId: text,
  org: text,
  refunded: { type: 'string', description: 'Value units refunded by this call' },
  unrevealedAccounts: integer,
  txId: text,
});

export const escrowReleaseRoute = route(
  "Utility admin: release its org's escrows of a cleared window (the gateway does it after the clearing); " +
    'with accounts, refund escrows of orders that were not revealed',
  {
    roles: ['admin'],
    bodyLimit: RELEASE_BODY_LIMIT,
    params: windowIdParams,
    body: releaseBody,
    response: { 200: released },
  },
);

export const revealed = answerObject({ windowId: text, org: text, orders: integer, txId: text });

export const revealRoute = route(
  'Utility: make its orders of a closed window public (once; the gateway does it at the close)',
  { roles: ['admin', 'relay'], params: windowIdParams, response: { 200: revealed } },
);

export const committed = answerObject({
  windowId: text,
  org: text,
  orders: { type: 'integer', description: 'Sealed orders of this utility the commitment covers' },
  digest: { type: 'string', description: 'SHA-256 over (order reference, order hash) of each, hex' },
  txId: text,
});

export const commitmentRoute = route(
  'Utility: commit (majority-endorsed) to its sealed orders of an open window before the close; the gateway ' +
    'does it ahead of each close. Its reveal must give this commitment, and its homes’ later orders are refused',
  { roles: ['admin', 'relay'], params: windowIdParams, response: { 200: committed } },
);
