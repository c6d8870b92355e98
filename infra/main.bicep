// The export pipeline in Azure, provisioned by `azd up` (azure.yaml at the repository root):
//   - a Function App on the Flex Consumption plan (FC1, Linux, Python 3.11) that runs as one user-assigned
//     managed identity for everything: host storage, Durable Functions, exports, events, Key Vault, telemetry;
//   - a storage account with shared-key access disabled: host and task hub storage, the exports container,
//     the export-events queue and the deployment package container;
//   - an Event Grid topic (CloudEvents 1.0 input, local auth disabled) for EXPORTS_EVENTS_SINK=eventgrid;
//   - Key Vault (RBAC) holding the upstream credentials, referenced from app settings;
//   - Log Analytics and Application Insights (Entra ID authenticated ingestion only);
//   - the role assignments the identity needs, and read access for the deploying developer.
// tests/infra parses every Bicep file (pycep-parser; no Bicep compiler runs in CI), makes the compiler's basic
// checks on the trees, and holds the app settings below to app_settings.py.
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('azd environment name; resource names and the azd-env-name tag derive from it')
param environmentName string

@minLength(1)
@description('Region for every resource; it must offer the Flex Consumption plan')
param location string = resourceGroup().location

@description('Object id of the deploying principal (azd sets AZURE_PRINCIPAL_ID); empty = no developer roles')
param principalId string = ''

@description('Kind of principalId: User for `azd auth login` as a person, ServicePrincipal for a CI login')
@allowed(['User', 'ServicePrincipal', 'Group'])
param principalType string = 'User'

@description('Where export events go (EXPORTS_EVENTS_SINK): the Storage queue, or the Event Grid topic')
@allowed(['queue', 'eventgrid'])
param eventsSink string = 'queue'

@description('Durable Functions task hub (DURABLE_TASK_HUB; host.json reads %DURABLE_TASK_HUB%)')
@minLength(3)
@maxLength(45)
param durableTaskHub string = 'exportjobs'

@description('NCRONTAB schedule of the timer that starts due targets (EXPORT_SCHEDULE)')
param exportSchedule string = '0 */5 * * * *'

@description('Most upstream export jobs in flight at once (EXPORT_MAX_CONCURRENT_JOBS)')
@minValue(1)
param maxConcurrentJobs int = 4

@description('Let server-given download locations reach private addresses (EXPORTS_ALLOW_PRIVATE_UPSTREAMS): only for an upstream on a private network')
@allowed(['false', 'true'])
param allowPrivateUpstreams string = 'false'

@description('Targets file shipped with the app, relative to the app root (EXPORT_TARGETS_FILE)')
param targetsFile string = 'targets.yaml'

@description('Email address failed-export and stale-target alerts go to; empty = none')
param alertEmail string = ''

@description('Webhook (https) failed-export and stale-target alerts are posted to; empty = none')
@secure()
param alertWebhookUrl string = ''

@description('Flex Consumption scale-out ceiling (instances)')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each Flex Consumption instance, in MB; downloads are streamed, so 2048 is ample')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

// Durable Functions on Flex Consumption keeps its state in Azure Storage (the task hub in the app's storage
// account); the Durable Task Scheduler backend is not used. Flex scales the durable group from zero, so with no
// instance kept warm, queued orchestration and activity messages wait for a cold start. Each always-ready
// instance is billed continuously for its memory (instanceMemoryMB) whether or not it runs anything, plus
// execution time at the always-ready rate; 0 removes that fixed cost and accepts the cold starts.
@description('Always-ready (billed while idle) instances for the durable trigger group; 0 = scale from zero')
@minValue(0)
@maxValue(40)
param durableAlwaysReadyInstances int = 1

@secure()
@description('SailPoint OAuth client id, stored in Key Vault; empty = no secret, SAILPOINT_CLIENT_ID left empty')
param sailpointClientId string = ''

@secure()
@description('SailPoint OAuth client secret, stored in Key Vault; empty = no secret, setting left empty')
param sailpointClientSecret string = ''

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = { 'azd-env-name': environmentName }

// Names the code also knows by their catalogued defaults (app_settings.py); tests/infra keeps them equal.
var exportsContainerName = 'exports'
var eventsQueueName = 'export-events'
var deploymentContainerName = 'app-package-${resourceToken}'
// Delegated (signed-in user) MSAL token caches, private to the app and the person who signs in.
var tokenCacheContainerName = 'token-caches'

var secretNames = {
  sailpointClientId: 'sailpoint-client-id'
  sailpointClientSecret: 'sailpoint-client-secret'
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-exports-${resourceToken}'
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: 'log-exports-${resourceToken}'
    insightsName: 'appi-exports-${resourceToken}'
    location: location
    tags: tags
    alertEmail: alertEmail
    alertWebhookUrl: alertWebhookUrl
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: 'stexp${resourceToken}'
    location: location
    tags: tags
    containerNames: [exportsContainerName, tokenCacheContainerName, deploymentContainerName]
    queueNames: [eventsQueueName]
  }
}

module events 'modules/event-grid.bicep' = {
  name: 'event-grid'
  params: {
    name: 'evgt-exports-${resourceToken}'
    location: location
    tags: tags
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  params: {
    name: 'kv-exp-${resourceToken}'
    location: location
    tags: tags
    secrets: {
      '${secretNames.sailpointClientId}': sailpointClientId
      '${secretNames.sailpointClientSecret}': sailpointClientSecret
    }
  }
}

module access 'modules/access.bicep' = {
  name: 'access'
  params: {
    appPrincipalId: identity.properties.principalId
    developerPrincipalId: principalId
    developerPrincipalType: principalType
    storageAccountName: storage.outputs.name
    tokenCacheContainerName: tokenCacheContainerName
    keyVaultName: keyVault.outputs.name
    topicName: events.outputs.name
    insightsName: monitoring.outputs.insightsName
  }
}

// `@Microsoft.KeyVault(SecretUri=<vault>secrets/<name>)` without a version: the platform resolves the latest
// version with the identity (keyVaultReferenceIdentity) and re-reads it at least once a day and on restart.
var keyVaultReference = '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/'

// Every setting the code reads in Azure (app_settings.SETTINGS except the local_only ones) plus the host's own
// identity-based connections and telemetry settings. tests/infra/test_settings_consistency.py checks this
// block against the catalogue: a setting the code reads cannot be missing here, nor one here unknown to it.
var appSettings = {
  // Functions host storage and the Durable task hub, reached with the identity (the account has no keys).
  AzureWebJobsStorage__accountName: storage.outputs.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.properties.clientId
  // The events queue trigger's connection (function_app.py: connection="EXPORTS_QUEUE"). Locally the single
  // EXPORTS_QUEUE setting holds Azurite's connection string instead of these identity-based parts.
  EXPORTS_QUEUE__queueServiceUri: storage.outputs.queueEndpoint
  EXPORTS_QUEUE__credential: 'managedidentity'
  EXPORTS_QUEUE__clientId: identity.properties.clientId
  // Telemetry is sent with the identity; the component accepts Entra ID authenticated telemetry only.
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identity.properties.clientId}'
  // host.json sets "telemetryMode": "OpenTelemetry"; this lets the Python worker send its own OpenTelemetry data
  // (function_app.py configures azure-monitor-opentelemetry when APPLICATIONINSIGHTS_CONNECTION_STRING is set).
  PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY: 'true'
  // The Python worker (3.11) imports its own bundled azure-functions unless told to prefer the app's; the app's
  // (requirements.txt) is the one whose Event Grid converter delivers func.CloudEvent to consume_export_grid_event.
  PYTHON_ISOLATE_WORKER_DEPENDENCIES: '1'
  // DefaultAzureCredential in the code picks the user-assigned identity by its client id.
  AZURE_CLIENT_ID: identity.properties.clientId
  DURABLE_TASK_HUB: durableTaskHub
  EXPORTS_BLOB_ACCOUNT_URL: storage.outputs.blobEndpoint
  EXPORTS_QUEUE_ACCOUNT_URL: storage.outputs.queueEndpoint
  EXPORTS_CONTAINER: exportsContainerName
  EXPORTS_EVENTS_QUEUE: eventsQueueName
  EXPORTS_EVENTS_SINK: eventsSink
  EVENTGRID_TOPIC_ENDPOINT: events.outputs.endpoint
  // Empty on purpose: the topic has local (key) auth disabled, so no key exists; with no key the publisher
  // authenticates with the identity (EventGrid Data Sender on the topic).
  EVENTGRID_TOPIC_KEY: ''
  EXPORT_TARGETS_FILE: targetsFile
  EXPORT_SCHEDULE: exportSchedule
  EXPORT_MAX_CONCURRENT_JOBS: string(maxConcurrentJobs)
  EXPORTS_ALLOW_PRIVATE_UPSTREAMS: allowPrivateUpstreams
  // Empty: the built-in connector specs only (a deployment adds its own by shipping a directory and naming it).
  EXPORTS_CONNECTOR_SPECS_DIR: ''
  // Key Vault references; empty when no value was provided (the connector then reports the setting unset
  // instead of sending an unresolved reference upstream as a credential).
  SAILPOINT_CLIENT_ID: empty(sailpointClientId) ? '' : '${keyVaultReference}${secretNames.sailpointClientId})'
  SAILPOINT_CLIENT_SECRET: empty(sailpointClientSecret) ? '' : '${keyVaultReference}${secretNames.sailpointClientSecret})'
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  // Roles first: the host's identity-based storage connection, the deployment package and the Key Vault
  // references are all used as soon as the app starts.
  dependsOn: [access]
  params: {
    planName: 'plan-exports-${resourceToken}'
    appName: 'func-exports-${resourceToken}'
    location: location
    tags: tags
    serviceName: 'api'
    identityId: identity.id
    deploymentContainerUrl: '${storage.outputs.blobEndpoint}${deploymentContainerName}'
    appSettings: appSettings
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    durableAlwaysReadyInstances: durableAlwaysReadyInstances
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = subscription().tenantId
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.uri
output AZURE_MANAGED_IDENTITY_NAME string = identity.name
output EXPORTS_BLOB_ACCOUNT_URL string = storage.outputs.blobEndpoint
output EXPORTS_QUEUE_ACCOUNT_URL string = storage.outputs.queueEndpoint
output EXPORTS_CONTAINER string = exportsContainerName
output EXPORTS_EVENTS_QUEUE string = eventsQueueName
output EVENTGRID_TOPIC_ENDPOINT string = events.outputs.endpoint
