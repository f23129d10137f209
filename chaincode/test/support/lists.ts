/**
 * The element of `list` at `index` (negative: from the end), or a test error that names `what`:
 * a test indexes answers it expects to hold that element, and a missing one is a failure.
 */
export function itemAt<T>(list: readonly T[], index: number, what = 'list'): T {
  const item = list.at(index);
  if (item === undefined) {
    throw new Error(`${what} has no element at ${index} (length ${list.length})`);
  }
  return item;
}
