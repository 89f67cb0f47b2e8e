import { setTimeout as sleep } from 'node:timers/promises';
import type { AwsSigV4Service } from 'backstage-plugin-proxy-sigv4-node';
import { dynamoDbUrl } from './endpoints';
import { AwsCallError, awsErrorCode, signedCall } from './signed-call';
import type { Signing } from './signed-call';

/** The key Terraform's S3 backend locks on. */
const LOCK_KEY = 'LockID';
/** How long a new table may take to become ACTIVE, and how often to look. */
const ACTIVE_WITHIN_MS = 120_000;
const POLL_EVERY_MS = 2_000;

export interface LockTableRequest {
  table: string;
  region: string;
  roleArn?: string;
  /** Tags set when the table is created. */
  tags?: Record<string, string>;
}

export interface LockTable {
  arn: string;
  created: boolean;
}

interface TableDescription {
  TableArn: string;
  TableStatus: string;
  KeySchema?: Array<{ AttributeName: string; KeyType: string }>;
  AttributeDefinitions?: Array<{ AttributeName: string; AttributeType: string }>;
}

/**
 * A DynamoDB table for Terraform's state locks (hash key `LockID`, a string; on-demand capacity),
 * made idempotently and waited on until ACTIVE. An existing table with another key is an error:
 * Terraform could not lock with it.
 */
export async function ensureLockTable(aws: AwsSigV4Service, request: LockTableRequest, signal?: AbortSignal): Promise<LockTable> {
  const signing: Signing = { service: 'dynamodb', region: request.region, roleArn: request.roleArn };
  const call = (operation: string, payload: object) =>
    signedCall(
      aws,
      {
        method: 'POST',
        url: dynamoDbUrl(request.region),
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${operation}` },
        body: JSON.stringify(payload),
      },
      signing,
      signal,
    );
  const describe = async (): Promise<TableDescription | undefined> => {
    const result = await call('DescribeTable', { TableName: request.table });
    if (result.status === 400 && awsErrorCode(result) === 'ResourceNotFoundException') return undefined;
    if (result.status !== 200) throw new AwsCallError(`DescribeTable ${request.table}`, result);
    return (JSON.parse(result.text) as { Table: TableDescription }).Table;
  };

  let table = await describe();
  const created = table === undefined;
  if (table === undefined) {
    const result = await call('CreateTable', {
      TableName: request.table,
      AttributeDefinitions: [{ AttributeName: LOCK_KEY, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: LOCK_KEY, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      ...(request.tags && { Tags: Object.entries(request.tags).map(([Key, Value]) => ({ Key, Value })) }),
    });
    if (result.status !== 200) throw new AwsCallError(`CreateTable ${request.table}`, result);
    table = (JSON.parse(result.text) as { TableDescription: TableDescription }).TableDescription;
  } else if (!locksOnLockId(table)) {
    throw new Error(`table ${request.table} exists with another key than ${LOCK_KEY} (a string hash key): Terraform cannot lock with it`);
  }

  const deadline = Date.now() + ACTIVE_WITHIN_MS;
  while (table.TableStatus !== 'ACTIVE') {
    if (Date.now() > deadline) throw new Error(`table ${request.table} is not ACTIVE after ${ACTIVE_WITHIN_MS / 1000} s`);
    await sleep(POLL_EVERY_MS, undefined, { signal });
    table = (await describe()) ?? table;
  }
  return { arn: table.TableArn, created };
}

function locksOnLockId(table: TableDescription): boolean {
  const hash = table.KeySchema?.find((key) => key.KeyType === 'HASH');
  const type = table.AttributeDefinitions?.find((attribute) => attribute.AttributeName === LOCK_KEY)?.AttributeType;
  return table.KeySchema?.length === 1 && hash?.AttributeName === LOCK_KEY && type === 'S';
}
