// The Event Grid topic that receives export CloudEvents when EXPORTS_EVENTS_SINK=eventgrid. It takes the
// CloudEvents 1.0 schema as sent and accepts only Entra ID callers (EventGrid Data Sender role): access keys are
// disabled, which is why the app's EVENTGRID_TOPIC_KEY setting is deployed empty.

@description('Event Grid topic name')
@minLength(3)
@maxLength(50)
param name string

param location string
param tags object = {}

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    minimumTlsVersionAllowed: '1.2'
  }
}

output name string = topic.name
output endpoint string = topic.properties.endpoint
