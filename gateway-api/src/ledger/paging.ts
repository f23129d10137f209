import { HttpError, toHttpError } from '../http/errors';
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

/**
 * One page of a paged List transaction (ListWindows, ListEvents) as the API answers it. The
 * bookmark is opaque to callers: the chaincode's (a ledger key, with NUL separators) in
 * base64url, so what a caller sends back is either one the listing handed out or refused by the
 * chaincode (INVALID_ARGUMENT, answered 400 here: the bookmark is part of the request line) —
 * never read as a key of another record type.
 */
export async function listedPage(
  list: Transaction,
  pageSize = '50',
  bookmark = '',
): Promise<Record<string, unknown>> {
  const page = decodeJson<Record<string, unknown>>(
    await list
      .evaluate({ arguments: [pageSize, Buffer.from(bookmark, 'base64url').toString('utf8')] })
      .catch((error: unknown) => {
        const refused = toHttpError(error);
        throw refused.code === 'INVALID_ARGUMENT'
          ? new HttpError(400, 'INVALID_REQUEST', refused.message)
          : refused;
      }),
  );
  const next = typeof page.bookmark === 'string' ? page.bookmark : '';
  return { ...page, bookmark: Buffer.from(next, 'utf8').toString('base64url') };
}
