"""Error envelope parsers that only spec connectors use (the seeds' Graph and SailPoint parsers are beside the
HTTP client): each reads one API's error body into a bounded, redacted message and a code.

Why code and not spec fields: an error body's shape differs in more than paths (a list or an object, which entry
wins, an OAuth form beside the API's own), and these parsers see hostile text, so each is written and tested once.
"""

from __future__ import annotations

from connectors.envelopes import ErrorDetails, _identifier, _load, _text
from connectors.redaction import clean_message


def parse_salesforce_error(body: bytes | str | None, fallback: str, *secrets: str | None) -> ErrorDetails:
    """Salesforce's REST errors, a JSON array of `{"errorCode", "message"}` (the first entry wins), or its OAuth
    endpoint's `{"error", "error_description"}`."""
    data = _load(body)
    if isinstance(data, list):
        first = next((entry for entry in data if isinstance(entry, dict)), None)
        if first is None:
            return ErrorDetails(clean_message(fallback, *secrets))
        message = _text(first.get("message")) or fallback
        return ErrorDetails(clean_message(message, *secrets), _identifier(first.get("errorCode"), *secrets))
    if isinstance(data, dict):
        error, description = _text(data.get("error")), _text(data.get("error_description"))
        if error or description:
            message = f"{error}: {description}" if error and description else (error or description or fallback)
            return ErrorDetails(clean_message(message, *secrets), _identifier(error, *secrets))
    return ErrorDetails(clean_message(fallback, *secrets))
