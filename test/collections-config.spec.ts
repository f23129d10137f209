import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { collectionOf, DEFAULT_SETTINGS } from '@hems/protocol';

interface CollectionConfig {
  name: string;
  policy: string;
  requiredPeerCount: number;
  maxPeerCount: number;
  blockToLive: number;
  memberOnlyRead: boolean;
  memberOnlyWrite: boolean;
  endorsementPolicy?: { signaturePolicy?: string };
}

/** The collections config the network deploys must match what the chaincode writes to. */
describe('network/collections_config.json', () => {
  const file = path.join(__dirname, '..', 'network', 'collections_config.json');
  const collections = JSON.parse(readFileSync(file, 'utf8')) as CollectionConfig[];

  it('has exactly one collection per utility org, named as the chaincode names it', () => {
    expect(collections.map((c) => c.name).sort()).to.deep.equal(
      DEFAULT_SETTINGS.utilityMspIds.map(collectionOf).sort(),
    );
  });

  for (const org of DEFAULT_SETTINGS.utilityMspIds) {
    describe(collectionOf(org), () => {
      const collection = (): CollectionConfig => {
        const found = collections.find((c) => c.name === collectionOf(org));
        if (found === undefined) {
          throw new Error(`no collection for ${org}`);
        }
        return found;
      };

      it('is readable and writable by members of that org only', () => {
        expect(collection().policy).to.equal(`OR('${org}.member')`);
        expect(collection().memberOnlyRead).to.equal(true);
        expect(collection().memberOnlyWrite).to.equal(true);
      });

      it("lets that org's peer alone endorse writes to it (forecasts never leave the org)", () => {
        expect(collection().endorsementPolicy?.signaturePolicy).to.equal(`OR('${org}.peer')`);
      });

      it('purges private data after a bounded number of blocks (P5 backstop) and never requires dissemination', () => {
        expect(collection().blockToLive).to.be.greaterThan(0);
        expect(collection().blockToLive).to.be.at.most(1_000_000);
        expect(collection().requiredPeerCount).to.equal(0);
      });
    });
  }
});
