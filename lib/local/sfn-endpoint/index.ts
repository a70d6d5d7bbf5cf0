export { createSfnApi, epochSeconds, SfnApiError, SUPPORTED_OPERATIONS, type SfnApiOptions, type SfnOperation } from './sfn-api';
export { AMZ_JSON_1_0, handleRequest, SFN_TARGET_PREFIX, startSfnHttpServer, type SfnHttpServer, type SfnHttpServerOptions } from './server';
export { LOCAL_STATE_MACHINE_ARN, startStepwiseEndpoint, type StepwiseEndpoint, type StepwiseEndpointOptions } from './stepwise-endpoint';
export { LOCAL_TASK_OVERRIDES as ENDPOINT_TASK_OVERRIDES } from '../local-task-overrides';
