export * from './defaults';
export * from './state-names';
export * from './validate-props';
export * from './phase-function';
export * from './stepwise-topic';
export * from './migration-workflow';
export * from './synthesize-definition';
export { migrationDefinition, type DefinitionContext } from './definition';
