import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { FabricCaError } from './fabric-ca-error';
import { postToCa } from './fabric-ca-http';
import { createFabricCaToken, signLowS } from './fabric-ca-token';

export { FabricCaError, type FabricCaErrorKind } from './fabric-ca-error';
export { createFabricCaToken, signLowS } from './fabric-ca-token';

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

  private post(
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
    return postToCa({
      url,
      payload,
      authorization: header,
      roots: this.roots,
      timeoutMs: this.timeoutMs,
      where: `Fabric CA ${this.options.caName}`,
      operation,
      secrets,
    });
  }
}
