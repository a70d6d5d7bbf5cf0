/**
 * A Data API error as the service sends it: an HTTP status, the error name in `x-amzn-ErrorType`, and a JSON body
 * `{"message": …}`. The names are the exception shapes of `@aws-sdk/client-rds-data`, so the real client rebuilds them.
 */
export class EmulatorError extends Error {
  constructor(
    readonly errorType: DataApiErrorType,
    message: string,
    readonly status: number = STATUS_BY_TYPE[errorType],
    /** Extra members of the error body (StatementTimeoutException carries `dbConnectionId`). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = errorType;
  }
}

/** The exception names the emulator can answer with (a subset of the service's). */
export type DataApiErrorType =
  | 'BadRequestException'
  | 'DatabaseErrorException'
  | 'StatementTimeoutException'
  | 'NotFoundException'
  | 'DatabaseResumingException'
  | 'ServiceUnavailableError'
  | 'InternalServerErrorException';

/** HTTP statuses from the service model (`httpError` of each exception shape). */
const STATUS_BY_TYPE: Record<DataApiErrorType, number> = {
  BadRequestException: 400,
  DatabaseErrorException: 400,
  StatementTimeoutException: 400,
  NotFoundException: 404,
  DatabaseResumingException: 400,
  ServiceUnavailableError: 503,
  InternalServerErrorException: 500,
};

/** @internal */
export const badRequest = (message: string): EmulatorError => new EmulatorError('BadRequestException', message);

/** Aurora's texts, reproduced so code that matches on them behaves the same locally. */
export const MESSAGES = {
  multistatement: "Multistatements aren't supported.",
  responseTooLarge: 'Database returned more than the allowed response size limit',
  statementTimeout: 'Request timed out',
  arrayParameters: 'Array parameters are not supported.',
  resuming:
    'The Aurora DB instance local is resuming after being auto-paused. Please wait a few seconds and try again.',
  transactionNotFound: (id: string): string => `Transaction ${id} is not found`,
} as const;
