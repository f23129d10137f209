import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ClientCertificateSource } from '../../plugins/authentication';
import type { FailedAuthenticationLimiter } from '../../plugins/rate-limit';
import { VtnProblem } from '../problem';
import { problems, tokenError } from '../resources/docs';
import * as schemas from '../schemas';
import { basePath, SCOPES, type OpenAdrVersion } from '../versions';
import type { AccessClaims, AccessTokens } from './access-tokens';
import { certificateThumbprint, type VtnClients } from './clients';

/** The token endpoint's form body, as the form parser leaves it: every parameter once, a string. */
const tokenBody = {
  type: 'object',
  required: ['grant_type'],
  properties: {
    grant_type: { type: 'string', maxLength: 64 },
    client_id: { type: 'string', minLength: 1, maxLength: 256 },
    client_secret: { type: 'string', minLength: 1, maxLength: 256 },
    scope: { type: 'string', maxLength: 1024 },
  },
} as const;

interface TokenBody {
  readonly grant_type: string;
  readonly client_id?: string;
  readonly client_secret?: string;
  readonly scope?: string;
}

export interface TokenRoutesOptions {
  readonly version: OpenAdrVersion;
  readonly tokens: AccessTokens;
  readonly clients: VtnClients;
  readonly clientCertificate: ClientCertificateSource;
  readonly failures: FailedAuthenticationLimiter;
}

/**
 * RFC 6749 errors. OAuth2 client libraries parse this shape from the token endpoint, so both
 * versions answer it (3.1.0's document lists the problem object for 400: its members are added).
 */
function oauthError(reply: FastifyReply, { status, error, description }: TokenRefusal): FastifyReply {
  if (status === 401) {
    void reply.header('www-authenticate', 'Basic realm="openadr"');
  }
  return reply.code(status).header('cache-control', 'no-store').send({
    error,
    error_description: description,
    type: 'about:blank',
    title: error,
    status,
    detail: description,
  });
}

/**
 * RFC 6749 4.4.2: a token request is a form. Any other body (JSON, which the app would parse) is
 * refused before validation, so no token is issued for it.
 */
function formOnly(request: FastifyRequest, _reply: FastifyReply, next: (error?: Error) => void): void {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  next(
    type === 'application/x-www-form-urlencoded'
      ? undefined
      : new VtnProblem(
          415,
          'Unsupported Media Type',
          'the token request must be application/x-www-form-urlencoded',
        ),
  );
}

/** client_id and client_secret from the Basic header (RFC 6749 2.3.1: form-encoded, then base64). */
function basicCredentials(
  header: string | undefined,
): { id: string; secret: string } | 'malformed' | undefined {
  if (header === undefined) {
    return undefined;
  }
  const match = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(header);
  const decoded = match?.[1] === undefined ? '' : Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) {
    return 'malformed';
  }
  try {
    const decode = (text: string): string => decodeURIComponent(text.replace(/\+/g, ' '));
    return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
  } catch {
    return 'malformed';
  }
}

/** The granted scope: what was asked, if the client may have all of it; else undefined. */
function grantedScope(allowed: string, asked: string | undefined): string | undefined {
  if (asked === undefined || asked.trim() === '') {
    return allowed;
  }
  const may = new Set(allowed.split(' '));
  const wanted = asked.split(' ').filter((scope) => scope !== '');
  return wanted.every((scope) => may.has(scope)) ? wanted.join(' ') : undefined;
}

/** A refusal of the token endpoint (RFC 6749 5.2). */
interface TokenRefusal {
  readonly status: number;
  readonly error: string;
  readonly description: string;
}

const refusal = (status: number, error: string, description: string): TokenRefusal => ({
  status,
  error,
  description,
});
const CLIENT_FAILED = refusal(401, 'invalid_client', 'client authentication failed');
const SCOPE_EXCEEDED = refusal(400, 'invalid_scope', 'the requested scope exceeds what this client may have');

/** A request without a secret: business logic by its mutual-TLS certificate, the token bound to it. */
function businessLogic(
  options: TokenRoutesOptions,
  request: FastifyRequest,
  asked: string | undefined,
): Omit<AccessClaims, 'exp'> | TokenRefusal {
  const certificate = options.clientCertificate(request);
  const dso = options.clients.businessLogicOf(certificate);
  if (dso === undefined || certificate === undefined) {
    return CLIENT_FAILED;
  }
  const scope = grantedScope(SCOPES[options.version].bl, asked);
  return scope === undefined
    ? SCOPE_EXCEEDED
    : { sub: `bl:${dso}`, role: 'bl', scope, cnf: { 'x5t#S256': certificateThumbprint(certificate) } };
}

/** Who asks for a token, authenticated: its claims without the expiry, or why not. */
async function authenticate(
  options: TokenRoutesOptions,
  request: FastifyRequest,
  body: TokenBody,
): Promise<Omit<AccessClaims, 'exp'> | TokenRefusal> {
  if (body.grant_type !== 'client_credentials') {
    return refusal(400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported');
  }
  const basic = basicCredentials(request.headers.authorization);
  if (basic === 'malformed') {
    return refusal(400, 'invalid_request', 'the Authorization header is not HTTP Basic client credentials');
  }
  if (basic !== undefined && (body.client_id !== undefined || body.client_secret !== undefined)) {
    return refusal(
      400,
      'invalid_request',
      'send the client credentials once: in the Basic header or the body',
    );
  }
  const id = basic?.id ?? body.client_id;
  const secret = basic?.secret ?? body.client_secret;
  if (id === undefined || secret === undefined) {
    return businessLogic(options, request, body.scope);
  }
  const ven = await options.clients.venOf(id, secret);
  if (ven === 'busy') {
    return refusal(429, 'slow_down', 'too many token requests are being checked; retry in a moment');
  }
  if (ven === undefined) {
    return CLIENT_FAILED;
  }
  const scope = grantedScope(SCOPES[options.version].ven, body.scope);
  return scope === undefined ? SCOPE_EXCEEDED : { sub: ven.clientId, role: 'ven', scope };
}

/**
 * POST /auth/token (client credentials: a VEN's id and secret in the Basic header or the form
 * body; or a DSO identity by its mutual-TLS certificate, for business logic), and in 3.1.0
 * GET /auth/server, which names the token endpoint.
 */
export function tokenRoutes(options: TokenRoutesOptions) {
  return (app: FastifyInstance, _opts: unknown, done: (error?: Error) => void): void => {
    const { version, tokens, failures } = options;
    app.post(
      '/auth/token',
      {
        schema: {
          tags: ['auth'],
          summary:
            'OAuth2 client credentials: a VEN by its id and secret, business logic by its DSO certificate',
          consumes: ['application/x-www-form-urlencoded'],
          security: [],
          body: tokenBody,
          response: { 200: schemas.common.clientCredentialResponse, '4xx': tokenError, '5xx': tokenError },
        },
        preValidation: formOnly,
      },
      async (request, reply) => {
        const address = request.ip;
        const retryMs = failures.retryAfterMs(address);
        if (retryMs !== undefined) {
          void reply.header('retry-after', Math.ceil(retryMs / 1000));
          return oauthError(
            reply,
            refusal(429, 'slow_down', 'too many failed authentications from this address; retry later'),
          );
        }
        const claims = await authenticate(options, request, request.body as TokenBody);
        if ('error' in claims) {
          if (claims.status === 401) {
            failures.recordFailure(address);
          }
          if (claims.status === 429) {
            void reply.header('retry-after', 1);
          }
          return oauthError(reply, claims);
        }
        return answerToken(reply, tokens.issue(claims), claims.scope);
      },
    );
    if (version === '3.1.0') {
      const serverSchema = {
        tags: ['auth'],
        summary: 'Where the token endpoint is',
        security: [],
        response: { 200: schemas.v310.authServerInfo, ...problems },
      };
      app.get('/auth/server', { schema: serverSchema }, (request: FastifyRequest, reply: FastifyReply) =>
        reply.send({ tokenURL: `https://${request.host}${basePath(version)}/auth/token` }),
      );
    }
    done();
  };
}

function answerToken(
  reply: FastifyReply,
  issued: { token: string; expiresIn: number },
  scope: string,
): FastifyReply {
  return reply.code(200).header('cache-control', 'no-store').header('pragma', 'no-cache').send({
    access_token: issued.token,
    token_type: 'Bearer',
    expires_in: issued.expiresIn,
    scope,
  });
}
