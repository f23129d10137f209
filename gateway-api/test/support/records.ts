/** An open slot as the chaincode's GetSlot answers it: slot-1, a default price range and bus-2's own. */
export const OPEN_SLOT = {
  slotId: 'slot-1',
  status: 'OPEN',
  deadline: '2030-01-01T10:15:00.000Z',
  openedAt: '2030-01-01T10:00:00.000Z',
  prices: { default: { lower: 20, upper: 80 }, buses: [{ bus: 'bus-2', lower: 35, upper: 110 }] },
  expected: [],
  aggregates: [],
  busTotals: [],
};
