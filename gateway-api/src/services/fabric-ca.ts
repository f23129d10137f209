import { createPrivateKey, createPublicKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';

/**
 * A small client of Fabric CA's REST API (v1.5): register, enrol with a CSR the device made,
 * revoke, generate a CRL. No fabric-ca-client binary or SDK: registrar requests carry Fabric CA's
 * token (`<base64 cert>.<base64 signature>`, see createFabricCaToken), enrolments HTTP basic
 * authentication with the enrolment id and secret. TLS only, with the CA's certificate as trust
 * root. Error messages never contain secrets, CSRs or request bodies.
 */

/** RFC 5280 reason names as Fabric CA accepts them (`reason` of a revocation). */
export const REVOCATION_REASONS = [
  'unspecified',
  'keycompromise',
  'cacompromise',
  'affiliationchanged',
  'superseded',
  'cessationofoperation',
  'certificatehold',
  'privilegewithdrawn',
  'aacompromise',
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export interface FabricCaAttribute {
  readonly name: string;
  readonly value: string;
  /** Written into the enrolment certificate (extension 1.2.3.4.5.6.7.8.1). */
  readonly ecert: boolean;
}

export interface RegisterRequest {
  readonly enrollmentId: string;
  /** Chosen by the caller; when absent the CA generates one (Fabric CA uses a non-cryptographic RNG). */
  readonly secret?: string;
  readonly type: 'client';
  /** Defaults to the registrar's affiliation. */
  readonly affiliation?: string;
  readonly attributes: readonly FabricCaAttribute[];
  readonly maxEnrollments: number;
}

export interface EnrollRequest {
  readonly enrollmentId: string;
  readonly secret: string;
  /** PKCS#10 request in PEM; its subject CN must be the enrolment id. */
  readonly csrPem: string;
  /** Signing profile, e.g. `tls`; the CA's default profile when absent. */
  readonly profile?: string;
}

export type RevokeRequest = (
  { readonly enrollmentId: string } | { readonly serial: string; readonly aki: string }
) & {
  readonly reason?: RevocationReason;
  /** Ask the CA for a CRL in the same call. */
  readonly generateCrl?: boolean;
};

export interface RevokedCertificate {
  /** Upper-case hex without leading zero bytes (as node:crypto and the chaincode write serials). */
  readonly serial: string;
  /** Authority key identifier, lower-case hex as the CA reports it. */
  readonly aki: string;
}

export interface RevokeResult {
  readonly revoked: readonly RevokedCertificate[];
  readonly crlPem?: string;
}

/** What the gateway needs from its org's Fabric CA. */
export interface FabricCaClient {
  /** Registers an identity and resolves to its enrolment secret. */
  register(request: RegisterRequest): Promise<string>;
  /** Enrols with a CSR and resolves to the issued certificate (PEM). */
  enroll(request: EnrollRequest): Promise<string>;
  /** Revokes an identity (all its certificates) or one certificate. */
  revoke(request: RevokeRequest): Promise<RevokeResult>;
  /** The CA's current CRL (PEM). */
  generateCrl(): Promise<string>;
}

export type FabricCaErrorKind =
  'bad-request' | 'unauthenticated' | 'forbidden' | 'not-found' | 'conflict' | 'unavailable' | 'failed';

/**
 * A refusal or failure of the CA. `httpStatus` (not `statusCode`, so that Fastify never mistakes
 * it for one of its own client errors) and `caCode` are the CA's; the message is safe to log.
 */
export class FabricCaError extends Error {
  constructor(
    message: string,
    readonly kind: FabricCaErrorKind,
    readonly httpStatus?: number,
    readonly caCode?: number,
  ) {
    super(message);
    this.name = 'FabricCaError';
  }
}

export interface RegistrarCredentials {
  /** The registrar's enrolment certificate, PEM, exactly as it is sent in tokens. */
  readonly certificatePem: string;
  /** Its private key (PEM or KeyObject); EC P-256 or P-384. */
  readonly privateKey: KeyObject | string;
}

export interface FabricCaClientOptions {
  /** e.g. https://localhost:7254 (no credentials in the URL). */
  readonly url: string;
  /** The CA's name (`--ca.name`), e.g. ca-utilitya. */
  readonly caName: string;
  /** PEM certificate(s) the CA's TLS certificate must chain to. */
  readonly tlsTrustedRoots: string | readonly string[];
  readonly registrar: RegistrarCredentials;
  /** Per request; default 10 s. */
  readonly timeoutMs?: number;
}

/** Largest answer read from the CA (a CRL of a busy CA can be large). */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** Orders of the curves Fabric CA keys use, for low-S signatures (Fabric's BCCSP rejects high S). */
const CURVE_ORDERS: Readonly<Record<string, bigint>> = {
  prime256v1: BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551'),
  secp384r1: BigInt(
    '0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973',
  ),
};

/**
 * Certificate serial (hex, any case, maybe `:`-separated or odd-length) as upper-case hex of whole
 * bytes without leading zero bytes: `0abc` / `ABC` -> `0ABC`, `00ff` -> `FF`. This is the form
 * node:crypto reports (X509Certificate.serialNumber) and the gateway's trust store compares.
 */
export function normalizeCaSerial(serial: string): string {
  let hex = serial.trim().replace(/:/g, '').toUpperCase();
  if (!/^[0-9A-F]{1,128}$/.test(hex)) {
    throw new FabricCaError('the CA reported a certificate serial that is not hexadecimal', 'failed');
  }
  if (hex.length % 2 === 1) {
    hex = `0${hex}`;
  }
  return hex.replace(/^(00)+(?=..)/, '');
}

function derLength(length: number): Buffer {
  if (length < 0x80) {
    return Buffer.from([length]);
  }
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest >>= 8) {
    bytes.unshift(rest & 0xff);
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) {
    hex = `0${hex}`;
  }
  let bytes = Buffer.from(hex, 'hex');
  if ((bytes[0] ?? 0) & 0x80) {
    bytes = Buffer.concat([Buffer.from([0]), bytes]);
  }
  return Buffer.concat([Buffer.from([0x02]), derLength(bytes.length), bytes]);
}

/** ECDSA-SHA256 signature, DER-encoded with a low S, as Fabric's BCCSP produces and requires. */
export function signLowS(data: Buffer, key: KeyObject): Buffer {
  const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
  const order = CURVE_ORDERS[curve];
  if (key.asymmetricKeyType !== 'ec' || order === undefined) {
    throw new FabricCaError('the registrar key must be an EC P-256 or P-384 private key', 'failed');
  }
  const raw = sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
  const half = raw.length / 2;
  const r = BigInt(`0x${raw.subarray(0, half).toString('hex')}`);
  let s = BigInt(`0x${raw.subarray(half).toString('hex')}`);
  if (s > order / 2n) {
    s = order - s;
  }
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

/**
 * Fabric CA's authorization token (fabric-ca util.GenECDSAToken):
 * `<base64 cert PEM>.<base64 DER signature>`, the signature by the identity's key over
 * `<method>.<base64 request URI>.<base64 body>.<base64 cert PEM>` (standard base64, the URI being
 * the path and query the server sees, e.g. /api/v1/register).
 */
export function createFabricCaToken(
  method: string,
  requestUri: string,
  body: Buffer,
  certificatePem: string,
  privateKey: KeyObject,
): string {
  const b64cert = Buffer.from(certificatePem, 'utf8').toString('base64');
  const payload = [
    method,
    Buffer.from(requestUri, 'utf8').toString('base64'),
    body.toString('base64'),
    b64cert,
  ].join('.');
  return `${b64cert}.${signLowS(Buffer.from(payload, 'utf8'), privateKey).toString('base64')}`;
}

/** A registrar's certificate and key from an MSP folder (signcerts/*.pem, keystore/*_sk). */
export function loadRegistrarFromMsp(mspPath: string): RegistrarCredentials {
  const first = (dir: string, test: (name: string) => boolean): string => {
    const name = readdirSync(path.join(mspPath, dir)).filter(test).sort()[0];
    if (name === undefined) {
      throw new Error(`no ${dir} file in the MSP folder ${mspPath}`);
    }
    return readFileSync(path.join(mspPath, dir, name), 'utf8');
  };
  return {
    certificatePem: first('signcerts', (name) => name.endsWith('.pem')),
    privateKey: first('keystore', (name) => name.endsWith('_sk') || name.endsWith('.pem')),
  };
}

const KIND_OF_STATUS: Readonly<Record<number, FabricCaErrorKind>> = {
  400: 'bad-request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
};

interface CaResponse {
  success?: unknown;
  result?: unknown;
  errors?: unknown;
}

interface CaFault {
  code?: unknown;
  message?: unknown;
}

type Authorization =
  { readonly kind: 'token' } | { readonly kind: 'basic'; readonly id: string; readonly secret: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function base64Text(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new FabricCaError(`the CA's answer has no ${what}`, 'failed');
  }
  return Buffer.from(value, 'base64').toString('utf8');
}

/** Fabric CA over HTTPS. */
export class FabricCaRestClient implements FabricCaClient {
  private readonly base: URL;
  private readonly roots: string[];
  private readonly key: KeyObject;
  private readonly certificatePem: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: FabricCaClientOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new Error('the Fabric CA URL is not a valid URL');
    }
    if (base.protocol !== 'https:') {
      throw new Error('the Fabric CA URL must use https');
    }
    if (base.username !== '' || base.password !== '' || base.search !== '' || base.hash !== '') {
      throw new Error('the Fabric CA URL must not carry credentials, a query or a fragment');
    }
    if (!base.pathname.endsWith('/')) {
      base.pathname = `${base.pathname}/`;
    }
    this.base = base;
    this.roots =
      typeof options.tlsTrustedRoots === 'string' ? [options.tlsTrustedRoots] : [...options.tlsTrustedRoots];
    if (this.roots.length === 0) {
      throw new Error('the Fabric CA client needs the CA TLS certificate as trust root');
    }
    this.key =
      typeof options.registrar.privateKey === 'string'
        ? createPrivateKey(options.registrar.privateKey)
        : options.registrar.privateKey;
    this.certificatePem = options.registrar.certificatePem;
    const certificate = new X509Certificate(this.certificatePem);
    const spki = (key: KeyObject): Buffer => key.export({ type: 'spki', format: 'der' });
    if (!spki(certificate.publicKey).equals(spki(createPublicKey(this.key)))) {
      throw new Error('the registrar certificate does not belong to the registrar key');
    }
    // Fails early on a key type Fabric CA does not take.
    signLowS(Buffer.alloc(0), this.key);
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async register(request: RegisterRequest): Promise<string> {
    const body = {
      id: request.enrollmentId,
      type: request.type,
      ...(request.secret === undefined ? {} : { secret: request.secret }),
      affiliation: request.affiliation ?? '',
      max_enrollments: request.maxEnrollments,
      attrs: request.attributes.map((attribute) => ({
        name: attribute.name,
        value: attribute.value,
        ecert: attribute.ecert,
      })),
      caname: this.options.caName,
    };
    const result = await this.post('register', 'register', body, { kind: 'token' }, [request.secret]);
    const secret = isObject(result) ? result.secret : undefined;
    if (typeof secret !== 'string' || secret.length === 0) {
      throw new FabricCaError(
        `Fabric CA ${this.options.caName}: register answered without a secret`,
        'failed',
      );
    }
    return secret;
  }

  async enroll(request: EnrollRequest): Promise<string> {
    if (request.enrollmentId.includes(':')) {
      // HTTP basic authentication cannot carry a ':' in the user name.
      throw new FabricCaError('an enrolment id cannot contain ":"', 'bad-request');
    }
    const body = {
      certificate_request: request.csrPem,
      caname: this.options.caName,
      ...(request.profile === undefined ? {} : { profile: request.profile }),
    };
    const result = await this.post(
      'enroll',
      'enroll',
      body,
      { kind: 'basic', id: request.enrollmentId, secret: request.secret },
      [request.secret],
    );
    const certificate = base64Text(isObject(result) ? result.Cert : undefined, 'certificate');
    if (!certificate.includes('-----BEGIN CERTIFICATE-----')) {
      throw new FabricCaError(
        `Fabric CA ${this.options.caName}: enroll answered without a certificate`,
        'failed',
      );
    }
    return certificate;
  }

  async revoke(request: RevokeRequest): Promise<RevokeResult> {
    const target =
      'enrollmentId' in request
        ? { id: request.enrollmentId }
        : { serial: request.serial.toLowerCase(), aki: request.aki.toLowerCase() };
    const body = {
      ...target,
      reason: request.reason ?? 'unspecified',
      caname: this.options.caName,
      ...(request.generateCrl === true ? { gencrl: true } : {}),
    };
    const result = await this.post('revoke', 'revoke', body, { kind: 'token' }, []);
    const listed =
      isObject(result) && Array.isArray(result.RevokedCerts) ? (result.RevokedCerts as unknown[]) : [];
    const revoked = listed.map((entry) => {
      const serial = isObject(entry) ? entry.Serial : undefined;
      const aki = isObject(entry) ? entry.AKI : undefined;
      if (typeof serial !== 'string') {
        throw new FabricCaError(
          `Fabric CA ${this.options.caName}: revoke answered a certificate without serial`,
          'failed',
        );
      }
      return { serial: normalizeCaSerial(serial), aki: typeof aki === 'string' ? aki.toLowerCase() : '' };
    });
    const crl = isObject(result) ? result.CRL : undefined;
    return {
      revoked,
      ...(typeof crl === 'string' && crl.length > 0 ? { crlPem: base64Text(crl, 'CRL') } : {}),
    };
  }

  async generateCrl(): Promise<string> {
    const result = await this.post(
      'gencrl',
      'generate a CRL',
      { caname: this.options.caName },
      { kind: 'token' },
      [],
    );
    const crl = base64Text(isObject(result) ? result.CRL : undefined, 'CRL');
    if (!crl.includes('-----BEGIN X509 CRL-----')) {
      throw new FabricCaError(
        `Fabric CA ${this.options.caName}: gencrl answered something that is not a CRL`,
        'failed',
      );
    }
    return crl;
  }

  /** Strips what must never reach a log or a client: request bodies the CA echoes, secrets. */
  private safe(text: string, secrets: readonly (string | undefined)[]): string {
    let safe = text.replace(/body=[\s\S]*$/, 'body=[redacted]');
    for (const secret of secrets) {
      if (secret !== undefined && secret.length > 0) {
        safe = safe.split(secret).join('[redacted]');
      }
    }
    // eslint-disable-next-line no-control-regex
    safe = safe.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
    return safe.length > 300 ? `${safe.slice(0, 300)}...` : safe;
  }

  private async post(
    endpoint: string,
    operation: string,
    body: unknown,
    authorization: Authorization,
    secrets: readonly (string | undefined)[],
  ): Promise<unknown> {
    const url = new URL(`api/v1/${endpoint}`, this.base);
    const requestUri = `${url.pathname}${url.search}`;
    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    const header =
      authorization.kind === 'token'
        ? createFabricCaToken('POST', requestUri, payload, this.certificatePem, this.key)
        : `Basic ${Buffer.from(`${authorization.id}:${authorization.secret}`, 'utf8').toString('base64')}`;
    const where = `Fabric CA ${this.options.caName}`;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpsRequest(
        {
          protocol: 'https:',
          hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: url.port === '' ? 443 : Number(url.port),
          path: requestUri,
          method: 'POST',
          ca: this.roots,
          agent: false,
          timeout: this.timeoutMs,
          headers: {
            'content-type': 'application/json',
            'content-length': payload.length,
            authorization: header,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              req.destroy(new FabricCaError(`${where}: ${operation} answered more than 4 MiB`, 'failed'));
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => {
        req.destroy(
          new FabricCaError(`${where}: ${operation} timed out after ${this.timeoutMs} ms`, 'unavailable'),
        );
      });
      req.on('error', reject);
      req.end(payload);
    }).catch((error: unknown) => {
      if (error instanceof FabricCaError) {
        throw error;
      }
      const detail =
        error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : 'error';
      throw new FabricCaError(
        `${where} at ${this.base.origin} is unreachable (${operation}): ${this.safe(String(detail), secrets)}`,
        'unavailable',
      );
    });

    let parsed: CaResponse;
    try {
      parsed = JSON.parse(text) as CaResponse;
    } catch {
      throw new FabricCaError(
        `${where}: ${operation} answered HTTP ${status} with a body that is not JSON`,
        status >= 500 || status < 400 ? 'failed' : (KIND_OF_STATUS[status] ?? 'failed'),
        status,
      );
    }
    const faults = Array.isArray(parsed.errors) ? (parsed.errors as CaFault[]) : [];
    if (status >= 400 || faults.length > 0 || parsed.success !== true) {
      const fault = faults[0];
      const caCode = typeof fault?.code === 'number' ? fault.code : undefined;
      const message =
        typeof fault?.message === 'string' ? this.safe(fault.message, secrets) : 'no reason given';
      throw new FabricCaError(
        `${where}: ${operation} refused (HTTP ${status}${caCode === undefined ? '' : `, code ${caCode}`}): ${message}`,
        KIND_OF_STATUS[status] ?? 'failed',
        status,
        caCode,
      );
    }
    return parsed.result;
  }
}
