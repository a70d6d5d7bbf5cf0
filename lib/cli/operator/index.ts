export * from './commands';
export * from './execution-view';
export * from './local-up-command';
export * from './sfn-client';
