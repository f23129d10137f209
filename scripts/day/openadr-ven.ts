/**
 * A minimal OpenADR 3.1.0 VEN as a device maker's firmware would hold it: client credentials, a
 * bearer token renewed before it expires, and JSON requests to its utility's VTN over HTTPS. The
 * simulated day's OpenADR homes use it; nothing of our own protocol is involved.
 */
import { Agent, request } from 'node:https';

export interface VenCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly venId: string;
}

export class VenError extends Error {
  override readonly name = 'VenError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

export class OpenAdrVen {
  private readonly agent: Agent;
  private token: { value: string; renewAt: number } | undefined;

  constructor(
    private readonly baseUrl: string,
    caPem: string,
    private readonly credentials: VenCredentials,
  ) {
    this.agent = new Agent({ ca: caPem, keepAlive: true, maxSockets: 2 });
  }

  get venId(): string {
    return this.credentials.venId;
  }

  async get<T>(path: string): Promise<T> {
    return (await this.call('GET', path)) as T;
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return (await this.call('POST', path, body)) as T;
  }

  close(): void {
    this.agent.destroy();
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const token = await this.bearer();
    const answer = await this.send(method, path, { authorization: `Bearer ${token}` }, body);
    if (answer.status === 401) {
      this.token = undefined;
    }
    if (answer.status >= 400) {
      const problem = answer.body as { detail?: string } | undefined;
      throw new VenError(answer.status, problem?.detail ?? `the VTN answered ${answer.status}`);
    }
    return answer.body;
  }

  private async bearer(): Promise<string> {
    if (this.token !== undefined && Date.now() < this.token.renewAt) {
      return this.token.value;
    }
    const basic = Buffer.from(
      `${encodeURIComponent(this.credentials.clientId)}:${encodeURIComponent(this.credentials.clientSecret)}`,
    ).toString('base64');
    const answer = await this.send(
      'POST',
      '/auth/token',
      { authorization: `Basic ${basic}` },
      'grant_type=client_credentials',
    );
    const granted = answer.body as { access_token?: string; expires_in?: number; error?: string };
    if (answer.status !== 200 || granted.access_token === undefined) {
      throw new VenError(answer.status, `no token: ${granted.error ?? 'unknown error'}`);
    }
    // Renewed at half its lifetime, as OAuth2 clients commonly do.
    this.token = {
      value: granted.access_token,
      renewAt: Date.now() + ((granted.expires_in ?? 3600) * 1000) / 2,
    };
    return this.token.value;
  }

  private send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: unknown,
  ): Promise<Answer> {
    const url = new URL(`${this.baseUrl}${path}`);
    const form = typeof body === 'string';
    const text = body === undefined ? undefined : form ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const outgoing = request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            accept: 'application/json',
            ...headers,
            ...(text === undefined
              ? {}
              : {
                  'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json',
                  'content-length': Buffer.byteLength(text),
                }),
          },
          timeout: 30_000,
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () => {
            const raw = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = raw;
            try {
              parsed = raw === '' ? undefined : JSON.parse(raw);
            } catch {
              // not JSON: kept as text
            }
            resolve({ status: incoming.statusCode ?? 0, body: parsed });
          });
          incoming.on('error', reject);
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error(`the VTN did not answer ${method} ${path}`)));
      outgoing.on('error', reject);
      outgoing.end(text);
    });
  }
}
