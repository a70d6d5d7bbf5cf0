export * from './commands';
export * from './execution-view';
export * from './follow-command';
export * from './local-up-command';
export * from './sfn-client';
