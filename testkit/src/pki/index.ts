export * from './keys';
export * from './ca';
export * from './certificates';
export * from './devices';
