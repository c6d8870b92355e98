// Log Analytics and a workspace-based Application Insights that accepts only Entra ID (AAD) authenticated
// telemetry: the Function App sends with its managed identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING),
// so the instrumentation key in the connection string alone cannot be used to write telemetry.
//
// What an operator is told, and where to look: an action group (an email address and/or a webhook, none by
// default), an alert on failed exports and one on stale targets, and a workbook per target over 30 days. The
// queries read the workspace-based tables azure-monitor-opentelemetry writes to (AppMetrics: Name, Sum,
// ItemCount, Max, Properties), with the metric names and attributes of telemetry/instruments.py;
// tests/infra/test_monitoring.py holds them to the code.

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

@description('Email address the alerts go to; empty = no email')
param alertEmail string = ''

@description('Webhook (https) the alerts are posted to, in the common alert schema; empty = no webhook')
@secure()
param alertWebhookUrl string = ''

@description('Minutes between evaluations of each alert (the timer checks freshness every 5 minutes by default)')
@minValue(5)
@maxValue(60)
param alertEvaluationMinutes int = 5

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

// A run that ended failed: one export.failures data point per failed run (activities/observed.py).
var failedExportsQuery = '''
AppMetrics
| where Name == 'export.failures'
| extend target = tostring(Properties['target']), kind = tostring(Properties['kind'])
| summarize failures = sum(Sum) by target, kind
'''

// A target whose latest.json is older than its limits: target.age is recorded at every tick with its state
// (sinks/freshness.py), so the alert fires while the target stays stale and resolves when it is fresh again.
var staleTargetsQuery = '''
AppMetrics
| where Name == 'target.age'
| extend target = tostring(Properties['target']), state = tostring(Properties['state'])
| where state in ('warn', 'error')
| summarize stale = sum(ItemCount), age_s = max(Max) by target, state
'''

// Per target over 30 days: last success, its age, mean duration, mean and largest size, failed runs.
var perTargetQuery = '''
AppMetrics
| where TimeGenerated > ago(30d)
| where Name in ('export.runs', 'export.duration', 'export.stored_bytes', 'export.failures')
| extend target = tostring(Properties['target']), outcome = tostring(Properties['outcome'])
| summarize last_success = maxif(TimeGenerated, Name == 'export.runs' and outcome == 'succeeded'),
    duration_sum = sumif(Sum, Name == 'export.duration'), duration_count = sumif(ItemCount, Name == 'export.duration'),
    bytes_sum = sumif(Sum, Name == 'export.stored_bytes'), bytes_count = sumif(ItemCount, Name == 'export.stored_bytes'),
    largest_bytes = maxif(Max, Name == 'export.stored_bytes'), failures = sumif(Sum, Name == 'export.failures') by target
| extend age = now() - last_success, mean_duration_s = duration_sum / duration_count, mean_bytes = bytes_sum / bytes_count
| project target, last_success, age, mean_duration_s, mean_bytes, largest_bytes, failures
| order by target asc
'''

resource alerts 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${insightsName}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'exports'
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      { name: 'email', emailAddress: alertEmail, useCommonAlertSchema: true }
    ]
    webhookReceivers: empty(alertWebhookUrl) ? [] : [
      { name: 'webhook', serviceUri: alertWebhookUrl, useCommonAlertSchema: true }
    ]
  }
}

resource failedExports 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-failed-exports-${insightsName}'
  location: location
  tags: tags
  properties: {
    displayName: 'Export failed'
    description: 'An export run ended failed (its failed CloudEvent names the reason); dimensions: target, kind'
    severity: 1
    enabled: true
    scopes: [workspace.id]
    evaluationFrequency: 'PT${alertEvaluationMinutes}M'
    windowSize: 'PT${alertEvaluationMinutes}M'
    criteria: {
      allOf: [
        {
          query: failedExportsQuery
          timeAggregation: 'Total'
          metricMeasureColumn: 'failures'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            { name: 'target', operator: 'Include', values: ['*'] }
            { name: 'kind', operator: 'Include', values: ['*'] }
          ]
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: false
    actions: { actionGroups: [alerts.id] }
  }
}

resource staleTargets 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-stale-targets-${insightsName}'
  location: location
  tags: tags
  properties: {
    displayName: 'Target stale'
    description: 'A target\'s latest.json is older than its freshness limits; dimensions: target, state'
    severity: 2
    enabled: true
    scopes: [workspace.id]
    evaluationFrequency: 'PT${alertEvaluationMinutes}M'
    windowSize: 'PT${alertEvaluationMinutes * 3}M'
    criteria: {
      allOf: [
        {
          query: staleTargetsQuery
          timeAggregation: 'Total'
          metricMeasureColumn: 'stale'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            { name: 'target', operator: 'Include', values: ['*'] }
            { name: 'state', operator: 'Include', values: ['*'] }
          ]
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: true
    actions: { actionGroups: [alerts.id] }
  }
}

var workbookContent = {
  version: 'Notebook/1.0'
  items: [
    {
      type: 1
      name: 'title'
      content: { json: '## Exports per target (30 days)\nLast success, its age, duration, size and failed runs.' }
    }
    {
      type: 3
      name: 'per-target'
      content: {
        version: 'KqlItem/1.0'
        query: perTargetQuery
        size: 0
        queryType: 0
        resourceType: 'microsoft.operationalinsights/workspaces'
        visualization: 'table'
        timeContext: { durationMs: 2592000000 }
      }
    }
  ]
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, insightsName, 'exports-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Exports per target'
    category: 'workbook'
    sourceId: workspace.id
    serializedData: string(workbookContent)
  }
}

output insightsName string = insights.name
output connectionString string = insights.properties.ConnectionString
