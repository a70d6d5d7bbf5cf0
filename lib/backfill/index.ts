export * from './constants';
export * from './keyset';
export * from './batch-sql';
export * from './scan-sql';
