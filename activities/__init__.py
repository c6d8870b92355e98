"""Durable Functions activities: thin adapters from small JSON inputs to connectors and sinks."""
