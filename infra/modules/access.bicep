// Role assignments: what the app's user-assigned identity may do, and (optionally) what the deploying
// developer may read, plus write access to the token-cache container so that they can sign in for a target. The identity is the only principal the app uses, for the Functions host, Durable
// Functions, the exports, the events, Key Vault references and telemetry.

@description('Principal (object) id of the app\'s user-assigned managed identity')
param appPrincipalId string

@description('Principal id of the deploying user or CI principal; empty = no developer roles')
param developerPrincipalId string = ''

@allowed(['User', 'ServicePrincipal', 'Group'])
param developerPrincipalType string = 'User'

param storageAccountName string

@description('Container of the delegated token caches; the developer who runs `python -m local signin` writes there')
param tokenCacheContainerName string
param keyVaultName string
param topicName string
param insightsName string

// Built-in role definition ids (the same in every tenant).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageQueueDataReader: '19e7f393-937e-4f77-808e-94535e297925'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  eventGridDataSender: 'd5a91429-5739-47e2-a06b-3470a27159e7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// Durable Functions on the Azure Storage provider uses all three data services: blobs (leases, large
// messages, and here the exports and the deployment package), queues (control and work-item queues, the
// export-events queue) and tables (history and instances). Blob Data Owner, not Contributor: it is the role
// the Functions documentation prescribes for identity-based host storage (AzureWebJobsStorage).
var appStorageRoles = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

// A developer can list and read exports and peek at export events; nothing more.
var developerStorageRoles = [
  roles.storageBlobDataReader
  roles.storageQueueDataReader
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource tokenCaches 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: '${storageAccountName}/default/${tokenCacheContainerName}'
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource topic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: topicName
}

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: insightsName
}

resource appStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in appStorageRoles: {
    name: guid(storage.id, appPrincipalId, role)
    scope: storage
    properties: {
      principalId: appPrincipalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]

resource appSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

resource appEvents 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, appPrincipalId, roles.eventGridDataSender)
  scope: topic
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventGridDataSender)
  }
}

resource appTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, appPrincipalId, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

// No developer, no roles: an empty list rather than a filtered loop (`[for ...: if ...]`), which the Bicep parser
// the tests use rejects.
resource developerStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in (empty(developerPrincipalId) ? [] : developerStorageRoles): {
    name: guid(storage.id, developerPrincipalId, role)
    scope: storage
    properties: {
      principalId: developerPrincipalId
      principalType: developerPrincipalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]

// Signing in for a Viva Goals target stores that user's token cache: write access to that one container only.
resource developerTokenCaches 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(developerPrincipalId)) {
  name: guid(tokenCaches.id, developerPrincipalId, roles.storageBlobDataContributor)
  scope: tokenCaches
  properties: {
    principalId: developerPrincipalId
    principalType: developerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}
