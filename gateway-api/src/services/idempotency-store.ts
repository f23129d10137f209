/**
 * What the idempotency plugin keeps per Idempotency-Key, and the interface of the stores that keep
 * it (services/idempotency-memory-store.ts, services/idempotency-file-store.ts).
 */

/** The response of a completed request, as replayed to a retry. */
export interface StoredResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * One key's record. `bodyHash` is a keyed hash of the request body, never the body itself.
 *
 * - `running`: a request holds the key in this process.
 * - `completed`: its response, replayed to every retry.
 * - `in-doubt`: the key was running when the gateway stopped without recording an answer (a crash
 *   mid-request). Its transaction may or may not have been submitted, so the request is neither
 *   run again nor reported as failed.
 */
export type IdempotencyRecord =
  | { readonly state: 'running'; readonly bodyHash: string }
  | { readonly state: 'completed'; readonly bodyHash: string; readonly response: StoredResponse }
  | { readonly state: 'in-doubt'; readonly bodyHash: string };

/**
 * Where idempotency records live. Asynchronous so that a persistent store can stand in for the
 * in-memory one: a promise resolves once the change is as durable as the store makes it. `claim`
 * must be atomic per key.
 */
export interface IdempotencyStore {
  /** Claims `key` for a running request, or returns the record that already holds it. */
  claim(key: string, bodyHash: string): Promise<IdempotencyRecord | undefined>;
  /** Stores the response of the request holding `key`. */
  complete(key: string, response: StoredResponse): Promise<void>;
  /** Frees `key`: its request ended without creating a transaction, so a retry may run again. */
  release(key: string): Promise<void>;
  /** Finishes pending writes and frees files; the plugin calls it when the app closes. */
  close?(): Promise<void>;
}
