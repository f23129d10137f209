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

/**
 * Refuses a bookmark the listing of `objectType` could not have handed out. Fabric starts the scan
 * at the bookmark itself, so a key of another record type, or one outside the listing's range,
 * would read other records as this type's; a bookmark Fabric hands out is the key of the next
 * page's first record, so it is one of this type's keys and exists.
 */
async function requireOwnBookmark(ctx: HemsContext, objectType: string, bookmark: string): Promise<void> {
  if (bookmark === '') {
    return;
  }
  const prefix = ctx.stub.createCompositeKey(objectType, []);
  if (
    !bookmark.startsWith(prefix) ||
    bookmark.includes('\uFFFD') ||
    (await ctx.stub.getState(bookmark)).length === 0
  ) {
    throw invalidArgument('bookmark is not one this listing handed out: start again without one');
  }
}

/** One page of the public records of a key type, in key order, each mapped by `toItem`. */
export async function readPage<T>(
  ctx: HemsContext,
  objectType: string,
  request: PageRequest,
  toItem: (row: Iterators.KV) => Promise<T>,
): Promise<Page<T>> {
  await requireOwnBookmark(ctx, objectType, request.bookmark);
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
  // fabric-shim gives no metadata for an empty page (the peer sends none).
  const page = metadata as Partial<typeof metadata> | undefined;
  return { items, fetched: page?.fetchedRecordsCount ?? items.length, bookmark: page?.bookmark ?? '' };
}
