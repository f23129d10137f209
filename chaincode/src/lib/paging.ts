import { invalidArgument, MAX_PAGE_SIZE, parseIntegerArgument } from '@hems/protocol';
import type { Iterators } from 'fabric-shim-api';
import type { HemsContext } from './context';
import { drainPage } from './state';

/** A page request of a List transaction: its size and the bookmark of the previous page. */
export interface PageRequest {
  readonly size: number;
  readonly bookmark: string;
}

export function parsePageRequest(pageSize: string, bookmark: string): PageRequest {
  const size = parseIntegerArgument(pageSize, 'pageSize', 1, MAX_PAGE_SIZE);
  if (typeof bookmark !== 'string' || bookmark.length > 1024) {
    throw invalidArgument('bookmark must be a string of at most 1024 characters');
  }
  return { size, bookmark };
}

export interface Page<T> {
  readonly items: T[];
  readonly fetched: number;
  readonly bookmark: string;
}

/** One page of the public records of a key type, in key order, each mapped by `toItem`. */
export async function readPage<T>(
  ctx: HemsContext,
  objectType: string,
  request: PageRequest,
  toItem: (row: Iterators.KV) => Promise<T>,
): Promise<Page<T>> {
  const { iterator, metadata } = await ctx.stub.getStateByPartialCompositeKeyWithPagination(
    objectType,
    [],
    request.size,
    request.bookmark,
  );
  const items: T[] = [];
  for (const row of await drainPage(iterator)) {
    items.push(await toItem(row));
  }
  return { items, fetched: metadata.fetchedRecordsCount, bookmark: metadata.bookmark };
}
