import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  connectAs,
  evaluateJson,
  loadNetworkDescription,
  type NetworkDescription,
} from '@hems/network-client';
import { expect } from 'chai';
import { useGatewayPorts } from '../../gateway-api/src/local/gateway-processes';
import type { SlotView } from '../../gateway-api/src/routes/slot-view';
import type { DayResult } from '../../scripts/day/day-result';
import { DEFAULT_OPTIONS } from '../../scripts/day/options';
import { renderReport } from '../../scripts/day/report';
import { runDay } from '../../scripts/day/run-day';
import { E2E_STATE_DIR } from './support/network';

// Test ports, apart from the defaults a developer's own gateways use.
useGatewayPorts({ DSOMSP: 19443, UtilityAMSP: 19444, UtilityBMSP: 19445, RegulatorMSP: 19446 });

/** The public ledger's record of every slot of the day, read by the auditor on the regulator's peer. */
async function ledgerSlots(description: NetworkDescription, day: DayResult): Promise<SlotView[]> {
  const auditor = connectAs(description, { mspId: 'RegulatorMSP', identity: 'auditor' });
  try {
    return await Promise.all(
      day.slots.map((slot) => evaluateJson<SlotView>(auditor.contract(), 'GetSlot', [slot.slotId])),
    );
  } finally {
    auditor.close();
  }
}

describe('the simulated day (npm start) on the real network', () => {
  let description: NetworkDescription;
  let day: DayResult;

  before(async function () {
    this.timeout(600_000);
    description = loadNetworkDescription(E2E_STATE_DIR);
    // Five homes per utility and bus, so every aggregate reaches k and publishes its sums.
    day = await runDay(
      { ...DEFAULT_OPTIONS, homes: 20, buses: 2, slots: 3, speed: 300, seed: 7 },
      description,
    );
  });

  it('plays every slot with every home: forecasts accepted, λ published, no home above its allowance', () => {
    expect(day.slots.map((slot) => slot.index)).to.deep.equal([0, 1, 2]);
    for (const slot of day.slots) {
      expect(slot.homesSubmitted, slot.slotId).to.equal(20);
      expect(slot.homesMissed, slot.slotId).to.equal(0);
      expect(slot.allowanceViolations, slot.slotId).to.equal(0);
      expect(slot.lambda).to.be.within(0, 1);
      expect(slot.timing.totalMs).to.be.greaterThan(0);
    }
  });

  it('reports exactly the per-bus sums, home counts and λ the ledger holds', async () => {
    const ledger = await ledgerSlots(description, day);
    day.slots.forEach((slot, position) => {
      const record = ledger[position];
      expect(record?.slotId).to.equal(slot.slotId);
      expect(record?.status).to.be.oneOf(['DISPATCHED', 'SETTLED']);
      expect(record?.dispatch?.lambda, slot.slotId).to.equal(slot.lambda);
      let homes = 0;
      for (const bus of slot.buses) {
        const total = record?.busTotals.find((entry) => entry.bus === bus.bus);
        expect(total, `${slot.slotId} ${bus.bus}`).to.not.equal(undefined);
        expect(bus.homes).to.equal(total?.homes);
        expect(bus.withheldHomes).to.equal(total?.withheldHomes);
        expect(bus.lowerKw).to.equal(total?.lower);
        expect(bus.upperKw).to.equal(total?.upper);
        homes += total?.homes ?? 0;
        // Each utility's part of the bus was published with its own count.
        const parts = record?.aggregates.filter((aggregate) => aggregate.bus === bus.bus) ?? [];
        expect(parts.map((aggregate) => aggregate.org).sort()).to.deep.equal(['UtilityAMSP', 'UtilityBMSP']);
        expect(parts.every((aggregate) => aggregate.published && aggregate.homes === 5)).to.be.true;
      }
      expect(homes).to.equal(slot.homesSubmitted);
    });
  });

  it("writes a report with the ledger's numbers and no home id", () => {
    const html = renderReport(day);
    for (const slot of day.slots) {
      expect(html).to.include(`<td>${slot.lambda}</td>`);
      for (const bus of slot.buses) {
        expect(html).to.include(`<td>${bus.lowerKw}</td><td>${bus.upperKw}</td>`);
      }
    }
    const devices = JSON.parse(
      readFileSync(path.join(description.stateDir, 'day', 'devices.json'), 'utf8'),
    ) as { homeId: string }[];
    expect(devices.length).to.be.at.least(20);
    for (const device of devices) {
      expect(html).to.not.include(device.homeId);
    }
  });
});
