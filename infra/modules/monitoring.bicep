// Log Analytics and a workspace-based Application Insights that accepts only Entra ID (AAD) authenticated
// telemetry: the Function App sends with its managed identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING),
// so the instrumentation key in the connection string alone cannot be used to write telemetry.

@description('Log Analytics workspace name')
param workspaceName string

@description('Application Insights component name')
param insightsName string

param location string
param tags object = {}

@description('Days Log Analytics keeps the logs')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: retentionInDays
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: insightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

output insightsName string = insights.name
output connectionString string = insights.properties.ConnectionString
