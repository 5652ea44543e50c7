import type { DemoWorld } from '@opencmk/kms-emulator';

/**
 * The AWS KMS config (contracts §4 payload) for the emulator's demo key: with the tenant's own access key, or with
 * the vendor's identity assuming the tenant's role with its external id.
 */
export function demoAwsConfig(demo: DemoWorld, credentials: 'tenant-key' | 'role' = 'tenant-key') {
  return {
    provider: 'aws' as const,
    keyArn: demo.aws.keyArn,
    region: demo.aws.region,
    endpoint: demo.aws.endpoint,
    ...(credentials === 'tenant-key'
      ? { accessKeyId: demo.aws.tenantUser.accessKeyId, secretAccessKey: demo.aws.tenantUser.secretAccessKey }
      : { roleArn: demo.aws.role.arn, externalId: demo.aws.role.externalId }),
  };
}
