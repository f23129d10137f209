/** The OpenADR 3 VTN's JSON schemas: what both versions share, and each version's own. */
export * as common from './common';
export * as v310 from './v310';
export * as v301 from './v301';
