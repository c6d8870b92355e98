"""What an operator sees of the pipeline: log attributes, spans and metrics (OpenTelemetry API only).

Nothing here exports anything: the app's entry point (`function_app.py`) hands the API to Azure Monitor when
`APPLICATIONINSIGHTS_CONNECTION_STRING` is set (`telemetry.azure`), and everywhere else (local runs, tests) the
API's no-op providers, or a test's in-memory ones, receive what is recorded.
"""
