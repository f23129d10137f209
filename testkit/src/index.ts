/**
 * Test and local-run support shared by the workspaces, the scripts and the end-to-end tests
 * (never a production dependency): one test PKI, and the harness that runs gateway processes
 * against the local network.
 */
export * from './pki';
export * from './gateway-processes';
export * from './schemathesis';
export * from './openadr3-client';
