/**
 * The Data API's JSON shapes as they travel on the wire (restJson1). They differ from the SDK's types only where JSON
 * does: `blobValue` is base64 text.
 */
export interface WireArrayValue {
  booleanValues?: boolean[];
  longValues?: number[];
  doubleValues?: number[];
  stringValues?: string[];
  arrayValues?: WireArrayValue[];
}

export interface WireField {
  isNull?: boolean;
  booleanValue?: boolean;
  longValue?: number;
  doubleValue?: number;
  stringValue?: string;
  blobValue?: string;
  arrayValue?: WireArrayValue;
}

export interface WireSqlParameter {
  name?: string;
  value?: WireField;
  typeHint?: string;
}

export interface WireColumnMetadata {
  name: string;
  label: string;
  type: number;
  typeName: string;
  schemaName: string;
  tableName: string;
  isAutoIncrement: boolean;
  isSigned: boolean;
  isCurrency: boolean;
  isCaseSensitive: boolean;
  nullable: number;
  precision: number;
  scale: number;
  arrayBaseColumnType: number;
}

export interface WireResultSetOptions {
  decimalReturnType?: 'STRING' | 'DOUBLE_OR_LONG';
  longReturnType?: 'LONG' | 'STRING';
}

/** Body of `POST /Execute` (ExecuteStatement). */
export interface WireExecuteRequest {
  resourceArn?: string;
  secretArn?: string;
  sql?: string;
  database?: string;
  schema?: string;
  parameters?: WireSqlParameter[];
  transactionId?: string;
  includeResultMetadata?: boolean;
  continueAfterTimeout?: boolean;
  resultSetOptions?: WireResultSetOptions;
  formatRecordsAs?: 'NONE' | 'JSON';
}

/** Body of `POST /BatchExecute` (BatchExecuteStatement). */
export interface WireBatchExecuteRequest {
  resourceArn?: string;
  secretArn?: string;
  sql?: string;
  database?: string;
  schema?: string;
  parameterSets?: WireSqlParameter[][];
  transactionId?: string;
}

/** Body of `/BeginTransaction`, `/CommitTransaction`, `/RollbackTransaction`. */
export interface WireTransactionRequest {
  resourceArn?: string;
  secretArn?: string;
  database?: string;
  schema?: string;
  transactionId?: string;
}
