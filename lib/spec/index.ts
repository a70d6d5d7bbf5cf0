export * from './schema';
export * from './parse-spec';
export * from './duration';
export { applySoak } from './apply-soak';
