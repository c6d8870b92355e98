"""The HTTP safety core every connector sends through: the API client, transport, URL and address rules, the
connect-time guard, bounded bodies and streams, deadlines, Retry-After, shared clients, media types, upstream
ids and error envelopes. It knows no spec and no upstream."""
