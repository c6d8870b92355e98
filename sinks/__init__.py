"""Where finished exports go: Blob Storage (content, manifest, latest.json) and an event for consumers."""
