import type { Contract } from '@hyperledger/fabric-gateway';

const utf8 = new TextDecoder();

/** Evaluates a transaction and parses its JSON answer (every HEMS transaction answers JSON). */
export async function evaluateJson<T>(
  contract: Contract,
  name: string,
  args: readonly string[] = [],
  transientData?: Record<string, Uint8Array>,
): Promise<T> {
  const result = await contract.evaluate(name, {
    arguments: [...args],
    ...(transientData ? { transientData } : {}),
  });
  return JSON.parse(utf8.decode(result)) as T;
}

export interface SubmitOptions {
  readonly args?: readonly string[];
  readonly transientData?: Record<string, Uint8Array>;
  /** Orgs whose peers must endorse (private data: only the collection's own org). */
  readonly endorsingOrganizations?: readonly string[];
}

/** Submits a transaction, waits for its commit, and parses its JSON answer. */
export async function submitJson<T>(
  contract: Contract,
  name: string,
  options: SubmitOptions = {},
): Promise<T> {
  const result = await contract.submit(name, {
    arguments: [...(options.args ?? [])],
    ...(options.transientData ? { transientData: options.transientData } : {}),
    ...(options.endorsingOrganizations
      ? { endorsingOrganizations: [...options.endorsingOrganizations] }
      : {}),
  });
  return JSON.parse(utf8.decode(result)) as T;
}
