import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { identities, type TestIdentity } from './support/fake-ledger';
import { createCa } from './support/pki';
import { Scenario, UTILITY_A, UTILITY_B, expectRefusal } from './support/scenario';

describe('GovernanceContract', () => {
  let s: Scenario;

  beforeEach(async () => {
    s = await Scenario.create();
  });

  describe('RegisterOrgCAs / GetOrgCAs', () => {
    const register = (bundle: string, who: TestIdentity = identities.admin(UTILITY_A)): Promise<string> =>
      s.ledger.invoke(who, (ctx) => s.governance.RegisterOrgCAs(ctx, bundle));

    it('registers and rotates a bundle; the new CA issues, the dropped one no longer does', async () => {
      const next = await createCa('UtilityA-2027');
      const record = JSON.parse(await register(`${s.ca(UTILITY_A).pem}\n${next.pem}`)) as {
        fingerprints: string[];
      };
      expect(record.fingerprints).to.have.length(2);
      const fetched = JSON.parse(
        await s.ledger.evaluate(identities.dso(), (ctx) => s.governance.GetOrgCAs(ctx, UTILITY_A)),
      ) as { mspId: string; certificates: string[] };
      expect(fetched.mspId).to.equal(UTILITY_A);
      expect(fetched.certificates).to.have.length(2);

      await s.openSlot('slot-1');
      const oldDevice = await s.device(UTILITY_A, 'bus-1');
      await register(next.pem);
      await expectRefusal(
        s.submit(UTILITY_A, oldDevice, { slotId: 'slot-1', lower: 1, upper: 2 }),
        'FORBIDDEN',
        /not issued/,
      );
    });

    it('refuses non-admins, non-utility admins, non-CA and invalid certificates', async () => {
      await expectRefusal(
        register(s.ca(UTILITY_A).pem, identities.relay(UTILITY_A)),
        'FORBIDDEN',
        /administrators of a utility/,
      );
      await expectRefusal(register(s.ca(UTILITY_A).pem, identities.admin('DSOMSP')), 'FORBIDDEN');
      await expectRefusal(register(''), 'INVALID_ARGUMENT', /1-10 PEM certificates/);
      await expectRefusal(register('garbage'), 'INVALID_ARGUMENT', /1-10 PEM certificates/);
      await expectRefusal(
        register('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'),
        'INVALID_ARGUMENT',
        /not a valid PEM X.509/,
      );
      const device = await s.device(UTILITY_A, 'bus-1');
      await expectRefusal(register(device.pem), 'INVALID_ARGUMENT', /not a CA certificate/);
      const expired = await createCa(
        'Old',
        new Date('2020-01-01T00:00:00Z'),
        new Date('2021-01-01T00:00:00Z'),
      );
      await expectRefusal(register(expired.pem), 'INVALID_ARGUMENT', /not valid at the transaction time/);
      await expectRefusal(
        register(`${s.ca(UTILITY_A).pem}${s.ca(UTILITY_A).pem}`),
        'INVALID_ARGUMENT',
        /twice/,
      );
      await expectRefusal(
        register(Array(11).fill(s.ca(UTILITY_A).pem).join('\n')),
        'INVALID_ARGUMENT',
        /1-10/,
      );
      await expectRefusal(register('x'.repeat(70000)), 'INVALID_ARGUMENT', /at most 65536 bytes/);
    });

    it('accepts an admin by hems.role=admin only: an OU=admin in the subject is not enough', async () => {
      await register(s.ca(UTILITY_A).pem, { mspId: UTILITY_A, role: 'admin' });
      await expectRefusal(
        register(s.ca(UTILITY_A).pem, identities.ouOnlyAdmin(UTILITY_A)),
        'FORBIDDEN',
        /administrators/,
      );
      await expectRefusal(
        s.ledger.invoke(identities.ouOnlyAdmin(UTILITY_A), (ctx) =>
          s.governance.ProposeSettings(ctx, 'k1', '{"minGroupSize":1}'),
        ),
        'FORBIDDEN',
      );
    });

    it('GetOrgCAs refuses unknown orgs and outsiders', async () => {
      await expectRefusal(
        s.ledger.evaluate(identities.dso(), (ctx) => s.governance.GetOrgCAs(ctx, 'UtilityCMSP')),
        'NOT_FOUND',
      );
      await expectRefusal(
        s.ledger.evaluate(identities.outsider(), (ctx) => s.governance.GetOrgCAs(ctx, UTILITY_A)),
        'FORBIDDEN',
      );
    });
  });

  describe('RevokeDeviceCertificate / GetRevocations', () => {
    const revoke = (
      serial: string,
      reason = '',
      who: TestIdentity = identities.admin(UTILITY_A),
    ): Promise<string> =>
      s.ledger.invoke(who, (ctx) => s.governance.RevokeDeviceCertificate(ctx, serial, reason));

    it('keeps one sorted list per org, normalizing serials', async () => {
      await revoke('00ab12', 'lost');
      await revoke('0F');
      const list = JSON.parse(
        await s.ledger.evaluate(identities.auditor(), (ctx) => s.governance.GetRevocations(ctx, UTILITY_A)),
      ) as { revoked: { serial: string; reason: string }[] };
      expect(list.revoked.map((r) => r.serial)).to.deep.equal(['0F', 'AB12']);
      const empty = JSON.parse(
        await s.ledger.evaluate(identities.auditor(), (ctx) => s.governance.GetRevocations(ctx, UTILITY_B)),
      ) as { revoked: unknown[] };
      expect(empty.revoked).to.deep.equal([]);
    });

    it('refuses duplicates, malformed serials and reasons, and non-admins', async () => {
      await revoke('AB12');
      await expectRefusal(revoke('ab12'), 'CONFLICT', /already revoked/);
      for (const bad of ['', 'xyz', '12 34', 'F'.repeat(65)]) {
        await expectRefusal(revoke(bad), 'INVALID_ARGUMENT', /serial/);
      }
      await expectRefusal(revoke('01', 'a\u0007b'), 'INVALID_ARGUMENT', /reason/);
      await expectRefusal(revoke('01', 'r'.repeat(201)), 'INVALID_ARGUMENT', /reason/);
      await expectRefusal(revoke('01', '', identities.relay(UTILITY_A)), 'FORBIDDEN');
    });
  });

  describe('SetEnrolledHomes / GetEnrolment', () => {
    const enrol = (
      bus: string,
      homes: string,
      who: TestIdentity = identities.admin(UTILITY_B),
    ): Promise<string> => s.ledger.invoke(who, (ctx) => s.governance.SetEnrolledHomes(ctx, bus, homes));

    it("records the caller's own org, whatever bus it names", async () => {
      await enrol('bus-3', '12');
      const all = JSON.parse(
        await s.ledger.evaluate(identities.dso(), (ctx) => s.governance.GetEnrolment(ctx)),
      ) as {
        enrolment: { org: string; bus: string; homes: number }[];
      };
      expect(all.enrolment).to.deep.include({
        org: UTILITY_B,
        bus: 'bus-3',
        homes: 12,
        updatedAt: '2026-11-21T10:00:00.000Z',
      });
      expect(all.enrolment).to.have.length(4);
    });

    it('keeps the number of enrolled buses per org bounded (every OpenSlot snapshots them)', async () => {
      // UtilityB has bus-1 already: 999 more make 1000.
      for (let bus = 0; bus < 999; bus += 1) {
        await enrol(`b${bus}`, '1');
      }
      await expectRefusal(enrol('one-too-many', '1'), 'INVALID_ARGUMENT', /reached 1000 enrolled buses/);
      await enrol('b7', '2');
    });

    it('refuses bad counts, bad buses, non-admins and outsiders', async () => {
      for (const bad of ['-1', '1.5', 'many', '', '1000001', '1e3']) {
        await expectRefusal(enrol('bus-1', bad), 'INVALID_ARGUMENT', /homes/);
      }
      await expectRefusal(enrol('bus 1', '3'), 'INVALID_ARGUMENT', /bus must be/);
      await expectRefusal(enrol('bus-1', '3', identities.relay(UTILITY_B)), 'FORBIDDEN');
      await expectRefusal(enrol('bus-1', '3', identities.admin('RegulatorMSP')), 'FORBIDDEN');
      await expectRefusal(
        s.ledger.evaluate(identities.outsider(), (ctx) => s.governance.GetEnrolment(ctx)),
        'FORBIDDEN',
      );
    });
  });

  describe('SetHomeRefSecret', () => {
    const setSecret = (
      secret: Uint8Array | undefined,
      who: TestIdentity = identities.admin(UTILITY_A),
      peer = UTILITY_A,
    ): Promise<string> =>
      s.ledger.invoke(who, (ctx) => s.governance.SetHomeRefSecret(ctx), {
        peer,
        transient: secret === undefined ? {} : { secret },
      });

    it('is set once, in the org collection only', async () => {
      const fresh = await Scenario.create();
      expect(
        fresh.ledger.committed.filter((tx) => tx.privateKeys.some((k) => k.key === 'hems.homerefsecret')),
      ).to.have.length(2);
      for (const tx of fresh.ledger.committed) {
        expect(tx.publicWrites.map((w) => w.key).join()).to.not.include('homeref');
      }
      await expectRefusal(setSecret(randomBytes(32)), 'CONFLICT', /already set/);
    });

    it('refuses short, long or missing secrets, other peers and non-admins', async () => {
      await expectRefusal(setSecret(randomBytes(16)), 'INVALID_ARGUMENT', /32-64 random bytes/);
      await expectRefusal(setSecret(randomBytes(65)), 'INVALID_ARGUMENT', /larger than 64/);
      await expectRefusal(setSecret(undefined), 'INVALID_ARGUMENT', /'secret' is required/);
      await expectRefusal(
        setSecret(randomBytes(32), identities.admin(UTILITY_A), UTILITY_B),
        'FORBIDDEN',
        /own organization/,
      );
      await expectRefusal(setSecret(randomBytes(32), identities.relay(UTILITY_A)), 'FORBIDDEN');
    });
  });

  describe('channel settings', () => {
    const propose = (
      id: string,
      change: unknown,
      who: TestIdentity = identities.admin(UTILITY_A),
    ): Promise<Record<string, unknown>> =>
      s.ledger
        .invoke(who, (ctx) =>
          s.governance.ProposeSettings(ctx, id, typeof change === 'string' ? change : JSON.stringify(change)),
        )
        .then((text) => JSON.parse(text) as Record<string, unknown>);
    const approve = (id: string, who: TestIdentity): Promise<Record<string, unknown>> =>
      s.ledger
        .invoke(who, (ctx) => s.governance.ApproveSettings(ctx, id))
        .then((text) => JSON.parse(text) as Record<string, unknown>);
    const settings = async (): Promise<Record<string, unknown>> =>
      JSON.parse(
        await s.ledger.evaluate(identities.auditor(), (ctx) => s.governance.GetSettings(ctx)),
      ) as Record<string, unknown>;

    it('start from the defaults: k = 5, 50 kW per home, a majority of 3 of the 4 orgs', async () => {
      expect(await settings()).to.include({ minGroupSize: 5, maxHomeKw: 50, approvalQuorum: 3, version: 0 });
    });

    it('change only when a majority of member orgs approved: no single org can weaken k', async () => {
      const proposal = await propose('lower-k', { minGroupSize: 2 });
      expect(proposal).to.include({ status: 'PENDING' });
      expect((await settings()).minGroupSize).to.equal(5);
      expect(await approve('lower-k', identities.admin(UTILITY_B))).to.include({ status: 'PENDING' });
      expect((await settings()).minGroupSize).to.equal(5);
      const applied = await approve('lower-k', identities.admin('RegulatorMSP'));
      expect(applied).to.include({ status: 'APPLIED', appliedVersion: 1 });
      expect(await settings()).to.include({ minGroupSize: 2, version: 1 });
      const fetched = JSON.parse(
        await s.ledger.evaluate(identities.dso(), (ctx) => s.governance.GetSettingsProposal(ctx, 'lower-k')),
      ) as { approvals: string[] };
      expect(fetched.approvals).to.deep.equal(['RegulatorMSP', UTILITY_A, UTILITY_B]);
    });

    it('the new k and maximum apply to the next aggregates and submissions', async () => {
      await propose('tight', { minGroupSize: 1, maxHomeKw: 2 });
      await approve('tight', identities.admin('DSOMSP'));
      await approve('tight', identities.admin(UTILITY_B));
      await s.openSlot('slot-1');
      const device = await s.device(UTILITY_A, 'bus-2');
      await expectRefusal(
        s.submit(UTILITY_A, device, { slotId: 'slot-1', lower: 1, upper: 3 }),
        'INVALID_ARGUMENT',
        /between 0 and 2/,
      );
      await s.submit(UTILITY_A, device, { slotId: 'slot-1', lower: 1, upper: 2 });
      s.ledger.advance(15 * 60 * 1000);
      const aggregate = JSON.parse(await s.publishAggregate('slot-1', UTILITY_A, 'bus-2')) as Record<
        string,
        unknown
      >;
      expect(aggregate).to.include({ homes: 1, withheld: false, lower: 1, upper: 2 });
    });

    it('refuses bad proposals, duplicate ids and approvals, unknown proposals and non-admins', async () => {
      const cases: [unknown, RegExp][] = [
        [{}, /at least one field/],
        [{ k: 3 }, /unknown field\(s\): k/],
        [{ minGroupSize: 0 }, /minGroupSize must be between 1/],
        [{ minGroupSize: 2.5 }, /minGroupSize must be a whole number/],
        [{ maxHomeKw: -1 }, /maxHomeKw must be between/],
        [{ maxHomeKw: 'big' }, /maxHomeKw must be a number/],
        [{ retentionSeconds: -5 }, /retentionSeconds/],
        [{ utilityMspIds: [] }, /at least one DSO and one utility/],
        [{ utilityMspIds: ['DSOMSP'] }, /only one part/],
        [{ auditorMspIds: ['A', 'A'] }, /twice/],
        [{ dsoMspIds: ['bad id!'] }, /dsoMspIds\[0\]/],
        ['[]', /must be a JSON object/],
        ['{', /not valid JSON/],
      ];
      for (const [change, pattern] of cases) {
        await expectRefusal(propose('p', change), 'INVALID_ARGUMENT', pattern);
      }
      await propose('p1', { minGroupSize: 10 });
      await expectRefusal(propose('p1', { minGroupSize: 10 }), 'CONFLICT', /already exists/);
      await expectRefusal(approve('p1', identities.admin(UTILITY_A)), 'CONFLICT', /already approved/);
      await expectRefusal(approve('p2', identities.admin(UTILITY_B)), 'NOT_FOUND');
      await expectRefusal(approve('p1', identities.relay(UTILITY_B)), 'FORBIDDEN', /administrators/);
      await expectRefusal(approve('p1', identities.admin('MalloryMSP')), 'FORBIDDEN', /members/);
      await expectRefusal(propose('bad id', { minGroupSize: 10 }), 'INVALID_ARGUMENT', /proposalId/);
      await approve('p1', identities.admin(UTILITY_B));
      await approve('p1', identities.admin('DSOMSP'));
      await expectRefusal(approve('p1', identities.admin('RegulatorMSP')), 'CONFLICT', /already applied/);
      await expectRefusal(
        s.ledger.evaluate(identities.dso(), (ctx) => s.governance.GetSettingsProposal(ctx, 'nope')),
        'NOT_FOUND',
      );
    });
  });
});
