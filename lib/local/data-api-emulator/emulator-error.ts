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
  | 'TransactionNotFoundException'
  | 'UnsupportedResultException'
  | 'DatabaseResumingException'
  | 'ServiceUnavailableError'
  | 'InternalServerErrorException';

/** HTTP statuses from the service model (`httpError` of each exception shape). */
const STATUS_BY_TYPE: Record<DataApiErrorType, number> = {
  BadRequestException: 400,
  DatabaseErrorException: 400,
  StatementTimeoutException: 400,
  NotFoundException: 404,
  TransactionNotFoundException: 404,
  UnsupportedResultException: 400,
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
  /** As Aurora words it, e.g. `The result contains the unsupported data type INTERVAL.` */
  unsupportedType: (typeName: string): string => `The result contains the unsupported data type ${typeName.toUpperCase()}.`,
  /** The emulator's wording (the service documents the condition, not the text). */
  multidimensionalArray: 'The result contains a multidimensional array, which is not supported.',
  /** The emulator's wording (the service documents the 64 KB limit, not the text). */
  rowTooLarge: (bytes: number, limit: number): string =>
    `The result contains a row of ${bytes} bytes, larger than the allowed row size of ${limit} bytes.`,
  /** The emulator's wording: the service documents no answer for a call on a busy transaction. */
  transactionBusy: (id: string): string =>
    `Transaction ${id} is still running a statement; wait for it to finish before the next call on this transaction.`,
} as const;
