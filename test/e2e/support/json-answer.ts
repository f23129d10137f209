import type { IncomingMessage } from 'node:http';
import type { ApiResponse } from '@hems/testkit';

/**
 * The response handler of an https request whose answer is JSON (or empty): status, parsed body
 * and headers, or the parse failure.
 */
export function jsonAnswer<T>(
  resolve: (answer: ApiResponse<T>) => void,
  reject: (error: Error) => void,
): (res: IncomingMessage) => void {
  return (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve({
          status: res.statusCode ?? 0,
          body: (text ? JSON.parse(text) : undefined) as T,
          headers: res.headers,
        });
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  };
}
