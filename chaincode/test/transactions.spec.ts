import { expect } from 'chai';
import { CONTRACTS, TRANSACTIONS } from '@hems/protocol';
import { contracts } from '../src/index';

/** fabric-contract-api's decorators record each contract's transactions here (via reflect-metadata). */
interface TransactionMetadata {
  readonly name: string;
  readonly tag: readonly string[];
  readonly parameters: readonly { readonly name: string }[];
}

function transactionsOf(prototype: object): TransactionMetadata[] {
  const reflect = Reflect as unknown as { getMetadata(key: string, target: object): unknown };
  return (reflect.getMetadata('fabric:transactions', prototype) ?? []) as TransactionMetadata[];
}

describe('contract interface', () => {
  it('names the contracts as the protocol does, in its order', () => {
    expect(contracts.map((Type) => new Type().getName())).to.deep.equal([...CONTRACTS]);
  });

  for (const [index, name] of CONTRACTS.entries()) {
    it(`declares exactly the protocol's ${name} transactions, in its order`, () => {
      const Type = contracts[index];
      expect(Type, `contract ${name}`).to.not.equal(undefined);
      const declared = transactionsOf(Type?.prototype ?? {}).map((transaction) => transaction.name);
      expect(declared).to.deep.equal([...TRANSACTIONS[name]]);
    });

    it(`gives every ${name} transaction the HemsContext, not as a transaction argument`, () => {
      const Type = contracts[index];
      for (const transaction of transactionsOf(Type?.prototype ?? {})) {
        const names = transaction.parameters.map((parameter) => parameter.name);
        expect(names, transaction.name).to.not.include('ctx');
      }
    });
  }

  it('marks only transactions the protocol lists as callable (no public helper is a transaction)', () => {
    for (const Type of contracts) {
      const listed = new Set<string>(TRANSACTIONS[new Type().getName() as keyof typeof TRANSACTIONS]);
      const methods = Object.getOwnPropertyNames(Type.prototype).filter(
        (key) => key !== 'constructor' && key !== 'createContext',
      );
      expect(methods.filter((method) => !listed.has(method))).to.deep.equal([]);
    }
  });
});
