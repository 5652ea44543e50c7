/**
 * The commands a tenant runs in its own cloud to let the vendor's proxy identity use its key (no secret involved).
 * Placeholders in <ANGLE_BRACKETS> are the tenant's own key path, which the broker never knows.
 */
export function grantCommand(provider: string, identity: string): string {
  switch (provider) {
    case 'aws':
      return `aws kms create-grant --key-id <KEY_ARN> --grantee-principal ${identity} --operations Encrypt Decrypt GenerateDataKey DescribeKey`;
    case 'gcp':
      return `gcloud kms keys add-iam-policy-binding <KEY> --keyring <KEY_RING> --location <LOCATION> --project <PROJECT> --member serviceAccount:${identity} --role roles/cloudkms.cryptoKeyEncrypterDecrypter`;
    case 'azure':
      return `az role assignment create --assignee ${identity} --role "Key Vault Crypto User" --scope $(az keyvault show --name <VAULT_NAME> --query id -o tsv)/keys/<KEY_NAME>`;
    default:
      return '';
  }
}
