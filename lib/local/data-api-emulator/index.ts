export { DATA_API_LIMITS, startDataApiEmulator } from './server';
export type { DataApiEmulator, DataApiEmulatorOptions } from './server';
export { FaultInjector } from './faults';
export type { DataApiOperation, FaultKind, FaultRule } from './faults';
export { EmulatorError, MESSAGES as DATA_API_MESSAGES } from './emulator-error';
export type { DataApiErrorType } from './emulator-error';
export { bindNamedParameters } from './named-parameters';
export type { BoundStatement } from './named-parameters';
