import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/**
 * The notification topic: encrypted with its own KMS key (rotation on) and refusing non-TLS publishes. A customer
 * managed key rather than `alias/aws/sns`, because AWS services that may publish here later (CloudWatch alarms,
 * EventBridge) cannot use the AWS managed key.
 *
 * @example
 * const { topic } = new StepwiseTopic(this, 'Topic');
 */
export class StepwiseTopic extends Construct {
  /** The topic. */
  readonly topic: sns.Topic;
  /** The key that encrypts it; publishers need `kms:GenerateDataKey` and `kms:Decrypt` on it. */
  readonly key: kms.Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      enableKeyRotation: true,
      description: 'Stepwise migration notifications (SNS server-side encryption)',
    });
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Stepwise migrations',
      masterKey: this.key,
      enforceSSL: true,
    });
  }
}
