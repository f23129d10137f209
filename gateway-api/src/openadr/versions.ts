/**
 * The OpenADR 3 versions this VTN serves, each under its own base path: 3.1.0 is not backward
 * compatible with 3.0.1 (targets, resources, report clientID, /auth/server), so a VEN picks its
 * version by the base URL it is given.
 */
export const OPENADR_VERSIONS = ['3.1.0', '3.0.1'] as const;
export type OpenAdrVersion = (typeof OPENADR_VERSIONS)[number];

export function basePath(version: OpenAdrVersion): string {
  return `/openadr/${version}`;
}

/** The OAuth2 scopes each kind of client is granted, per version (the specs' own scope names). */
export const SCOPES: Readonly<Record<OpenAdrVersion, { readonly ven: string; readonly bl: string }>> = {
  '3.1.0': {
    ven: 'read_targets read_ven_objects write_reports write_subscriptions write_vens',
    bl: 'read_all read_bl',
  },
  '3.0.1': {
    ven: 'read_all write_reports write_subscriptions write_vens',
    bl: 'read_all',
  },
};
