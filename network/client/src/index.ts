export * from './network-description';
export * from './connection';
export * from './errors';
export * from './transactions';
export * from './bootstrap';
export * from './devices';
export * from './readiness';
