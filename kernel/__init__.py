"""The small shared kernel every layer may import: classified errors, timestamps, redaction, strict documents.

It imports nothing else of this project (tests/test_import_graph.py holds it to that), so connectors, sinks,
downstream, credentials, targets and the orchestrators share these without importing one another.
"""
