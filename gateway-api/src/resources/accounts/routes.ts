import { ACCOUNT_ID_PATTERN } from '@hems/protocol';
import { HttpError } from '../../http/errors';
import { routes, type RoutesPlugin } from '../../http/routes';
import type { Ledger } from '../../ledger/ports';
import { submittedAnswer } from '../common/answers';
import { requireOwnDevice, requireOwnOperator } from '../common/guards';
import { currencyAmount, MAX_DEPOSIT } from '../common/units';
import {
  accountHistory,
  accountIdOf,
  depositor,
  deviceAccount,
  loadAccount,
  reconcileTokens,
  requireAccountReader,
} from './service';
import {
  accountHistoryRoute,
  accountRoute,
  depositRoute,
  myAccountRoute,
  openAccountRoute,
  reconciliationRoute,
} from './schemas';

/**
 * Token accounts of the auction: a device reads its own, auditors and the account's org read any
 * of theirs with its history, and a utility admin opens accounts and deposits for its customers
 * (the home id only in transient data to its own peer, which answers the pseudonymous account id).
 */
export function accountRoutes(ledger: Ledger): RoutesPlugin {
  const deposit = depositor(ledger);
  return routes((app) => {
    app.get('/v1/accounts/me', myAccountRoute, async (request) => {
      requireOwnDevice(ledger, request);
      return deviceAccount(ledger, request.caller);
    });

    app.get('/v1/accounts/reconciliation', reconciliationRoute, async () => reconcileTokens(ledger));

    // The router takes only account ids here, so /v1/accounts/deposits (POST only) is not read as an
    // account: its GET is 405, not a refusal of an account read.
    app.get(`/v1/accounts/:accountId(${ACCOUNT_ID_PATTERN})`, accountRoute, async (request) => {
      const record = await loadAccount(ledger, request.params.accountId);
      requireAccountReader(request, record);
      return record;
    });

    app.get(`/v1/accounts/:accountId(${ACCOUNT_ID_PATTERN})/history`, accountHistoryRoute, async (request) =>
      accountHistory(ledger, request, request.params.accountId),
    );

    app.post('/v1/accounts', openAccountRoute, async (request, reply) => {
      requireOwnOperator(ledger, request, 'admin', 'opening an account');
      const { accountId, exists } = await accountIdOf(ledger, request.body.homeId);
      if (exists) {
        // Deposit("0") on an existing account is refused by the chaincode too; saying so here
        // spares a majority-endorsed proposal. The answer names the pseudonymous id only.
        throw new HttpError(409, 'CONFLICT', `the home already has account ${accountId}`);
      }
      const submitted = await deposit(accountId, '0');
      void reply.header('location', `/v1/accounts/${accountId}`);
      return submittedAnswer(reply, submitted, 201);
    });

    app.post('/v1/accounts/deposits', depositRoute, async (request, reply) => {
      requireOwnOperator(ledger, request, 'admin', 'depositing tokens');
      const amount = currencyAmount(request.body.amount, 'amount', MAX_DEPOSIT);
      const { accountId } = await accountIdOf(ledger, request.body.homeId);
      return submittedAnswer(reply, await deposit(accountId, amount), 201);
    });
  });
}
