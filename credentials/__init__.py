"""Where bearer tokens come from: a ready token, OAuth client credentials, or a signed-in user's MSAL cache.

Why a room of its own: tokens and secrets live only here and in request headers, and the code that holds them
(token endpoints, MSAL, the token cache blob, the operator's sign-in tool) is not HTTP-client code. It depends
on `connectors` (the bounded transport, `UpstreamError`) and `targets` (the credential's configuration); nothing
in `connectors` depends on it: the API client takes any object with `get_token`.
"""
