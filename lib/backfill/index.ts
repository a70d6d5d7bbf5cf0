export * from './constants';
export * from './keyset';
export * from './batch-sql';
export * from './scan-sql';
export * from './adaptive';
export * from './settings';
export * from './continuation';
export * from './key-ranges';
