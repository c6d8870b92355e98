// Key Vault (RBAC authorization, no access policies) for the upstream credentials. The app reads them through
// Key Vault references in its app settings, resolved by the platform with the app's user-assigned identity;
// the values never appear in app settings, deployment outputs or code.

@description('Key Vault name: 3-24 letters, digits and hyphens, globally unique')
@minLength(3)
@maxLength(24)
param name string

param location string
param tags object = {}

@description('Secrets to store, secret name to value; an empty value is skipped (no secret is created)')
@secure()
param secrets object = {}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

// Empty values are filtered out of the list rather than by a filtered loop (`[for ...: if ...]`), which the
// Bicep parser the tests use rejects.
resource stored 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [
  for item in filter(items(secrets), secret => !empty(secret.value)): {
    parent: vault
    name: item.key
    properties: {
      value: item.value
      contentType: 'text/plain'
    }
  }
]

output name string = vault.name
@description('Vault URI with a trailing slash, e.g. https://<name>.vault.azure.net/')
output uri string = vault.properties.vaultUri
