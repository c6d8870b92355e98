// The export pipeline in Azure: a Flex Consumption Function App (Python 3.11) with a user-assigned identity,
// identity-only storage (no shared keys), the exports container and events queue, an Event Grid topic,
// Key Vault for upstream secrets, Application Insights, and the role assignments the identity needs.
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('azd environment name; used to derive resource names')
param environmentName string

@description('Primary location for all resources')
param location string = resourceGroup().location

@description('Principal id of the deploying user (azd sets it) to let a developer read exports')
param principalId string = ''

@description('Where export events go: queue (Storage queue) or eventgrid (Event Grid topic)')
@allowed(['queue', 'eventgrid'])
param eventsSink string = 'queue'

@description('NCRONTAB schedule of the timer that starts due targets')
param exportSchedule string = '0 */5 * * * *'

@description('Most upstream export jobs in flight at once')
param maxConcurrentJobs int = 4

@secure()
@description('SailPoint OAuth client id (stored in Key Vault; leave empty to skip)')
param sailpointClientId string = ''

@secure()
@description('SailPoint OAuth client secret (stored in Key Vault; leave empty to skip)')
param sailpointClientSecret string = ''

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = { 'azd-env-name': environmentName }
var exportsContainer = 'exports'
var eventsQueue = 'export-events'
var deploymentContainer = 'app-package-${take(token, 8)}'

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  eventGridDataSender: 'd5a91429-5739-47e2-a06b-3470a27159e7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-exports-${token}'
  location: location
  tags: tags
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'stexp${take(token, 18)}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource exports 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: exportsContainer
}

resource packages 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainer
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource events 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: eventsQueue
}

resource topic 'Microsoft.EventGrid/topics@2024-06-01-preview' = {
  name: 'evgt-exports-${token}'
  location: location
  tags: tags
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-exp-${take(token, 16)}'
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
  }
}

resource sailpointIdSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(sailpointClientId)) {
  parent: vault
  name: 'sailpoint-client-id'
  properties: { value: sailpointClientId }
}

resource sailpointSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(sailpointClientSecret)) {
  parent: vault
  name: 'sailpoint-client-secret'
  properties: { value: sailpointClientSecret }
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-exports-${token}'
  location: location
  tags: tags
  properties: { retentionInDays: 30, sku: { name: 'PerGB2018' } }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-exports-${token}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-exports-${token}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

var kvRef = '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/'

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-exports-${token}'
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identity.id
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identity.id }
        }
      }
      scaleAndConcurrency: { maximumInstanceCount: 40, instanceMemoryMB: 2048 }
      runtime: { name: 'python', version: '3.11' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      // APP SETTINGS BEGIN (checked against app_settings.py by tests/infra)
      appSettings: [
        { name: 'AzureWebJobsStorage__accountName', value: storage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identity.properties.clientId};Authorization=AAD' }
        { name: 'DURABLE_TASK_HUB', value: 'exportjobs' }
        { name: 'EXPORTS_BLOB_ACCOUNT_URL', value: storage.properties.primaryEndpoints.blob }
        { name: 'EXPORTS_QUEUE_ACCOUNT_URL', value: storage.properties.primaryEndpoints.queue }
        { name: 'EXPORTS_CONTAINER', value: exportsContainer }
        { name: 'EXPORTS_EVENTS_QUEUE', value: eventsQueue }
        { name: 'EXPORTS_EVENTS_SINK', value: eventsSink }
        { name: 'EVENTGRID_TOPIC_ENDPOINT', value: topic.properties.endpoint }
        { name: 'EVENTGRID_TOPIC_KEY', value: '' } // local auth is disabled: the managed identity sends events
        { name: 'EXPORT_TARGETS_FILE', value: 'targets.yaml' }
        { name: 'EXPORT_SCHEDULE', value: exportSchedule }
        { name: 'EXPORT_MAX_CONCURRENT_JOBS', value: string(maxConcurrentJobs) }
        { name: 'SAILPOINT_CLIENT_ID', value: '${kvRef}sailpoint-client-id)' }
        { name: 'SAILPOINT_CLIENT_SECRET', value: '${kvRef}sailpoint-client-secret)' }
        { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
        { name: 'EXPORTS_QUEUE__queueServiceUri', value: storage.properties.primaryEndpoints.queue }
        { name: 'EXPORTS_QUEUE__credential', value: 'managedidentity' }
        { name: 'EXPORTS_QUEUE__clientId', value: identity.properties.clientId }
      ]
      // APP SETTINGS END
    }
  }
}

var identityRoles = [
  { scope: 'storage', role: roles.storageBlobDataOwner }
  { scope: 'storage', role: roles.storageQueueDataContributor }
  { scope: 'storage', role: roles.storageTableDataContributor }
]

resource storageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for item in identityRoles: {
  name: guid(storage.id, identity.id, item.role)
  scope: storage
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', item.role)
  }
}]

resource vaultRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

resource topicRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, identity.id, roles.eventGridDataSender)
  scope: topic
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventGridDataSender)
  }
}

resource metricsRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

resource developerRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(principalId)) {
  name: guid(storage.id, principalId, roles.storageBlobDataReader)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'User'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = subscription().tenantId
output AZURE_FUNCTION_APP_NAME string = app.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.name
output EXPORTS_BLOB_ACCOUNT_URL string = storage.properties.primaryEndpoints.blob
output EXPORTS_QUEUE_ACCOUNT_URL string = storage.properties.primaryEndpoints.queue
output EVENTGRID_TOPIC_ENDPOINT string = topic.properties.endpoint
output AZURE_KEY_VAULT_NAME string = vault.name
