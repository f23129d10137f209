import { decodeJson } from './answers';
import type { Transaction } from './contracts';

/**
 * Visits every entry a paged List transaction (ListSlots, ListWindows) lists under `key`, page by
 * page of `pageSize`, following its bookmark until a short page, an empty bookmark or one that
 * does not move.
 */
export async function forEachListed<T>(
  list: Transaction,
  key: string,
  pageSize: number,
  visit: (entry: T) => Promise<void> | void,
): Promise<void> {
  let bookmark = '';
  for (;;) {
    const page = decodeJson<Record<string, unknown> & { readonly bookmark?: string }>(
      await list.evaluate({ arguments: [String(pageSize), bookmark] }),
    );
    const entries = (page[key] ?? []) as readonly T[];
    for (const entry of entries) {
      await visit(entry);
    }
    const next = page.bookmark ?? '';
    if (entries.length < pageSize || next === '' || next === bookmark) {
      return;
    }
    bookmark = next;
  }
}
