// The Function App on the Flex Consumption plan (FC1, Linux, Python). The runtime, scale and deployment
// package location live in functionAppConfig; Flex rejects or ignores the older app settings for them
// (FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE, WEBSITE_CONTENT*), so
// none are set. The app runs as the user-assigned identity for everything, including reading its own
// deployment package and resolving Key Vault references.

param planName string
param appName string
param location string
param tags object = {}

@description('azd service this app hosts (azure.yaml); only the site carries the azd-service-name tag')
param serviceName string

@description('Resource id of the user-assigned managed identity the app runs as')
param identityId string

@description('Blob container URL that holds the deployment package (azd uploads it there)')
param deploymentContainerUrl string

@description('App settings, name to value; built in main.bicep from the settings catalogue')
param appSettings object

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Always-ready instances of the durable group (orchestrators, entities and activities); 0 = none')
@minValue(0)
@maxValue(40)
param durableAlwaysReadyInstances int = 1

// The Python the project is written and tested for (pyproject.toml: target py311).
var pythonVersion = '3.11'

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true // Linux
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [
        for setting in items(appSettings): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        // The durable group's instances poll the task hub's queues; kept warm, a new orchestration or activity
        // message is picked up within the polling interval (host.json) rather than after a cold start.
        // The condition in parentheses and `? [] : [` on one line: the parser tests/infra uses (pycep) rejects a
        // conditional split over lines and reads `a == b ? x : y` as `a == (b ? x : y)`.
        alwaysReady: (durableAlwaysReadyInstances == 0) ? [] : [
          {
            name: 'durable'
            instanceCount: durableAlwaysReadyInstances
          }
        ]
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

output name string = app.name
output defaultHostName string = app.properties.defaultHostName
