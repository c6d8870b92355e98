"""The 25 SP-Config object types SailPoint documents; exports naming any other type are refused."""

from __future__ import annotations

SAILPOINT_OBJECT_TYPES: frozenset[str] = frozenset(
    {
        "ACCESS_PROFILE",
        "ACCESS_REQUEST_CONFIG",
        "ATTR_SYNC_SOURCE_CONFIG",
        "AUTH_ORG",
        "CAMPAIGN_FILTER",
        "CONNECTOR_RULE",
        "FORM_DEFINITION",
        "GOVERNANCE_GROUP",
        "IDENTITY_OBJECT_CONFIG",
        "IDENTITY_PROFILE",
        "LIFECYCLE_STATE",
        "NOTIFICATION_TEMPLATE",
        "PASSWORD_POLICY",
        "PASSWORD_SYNC_GROUP",
        "PUBLIC_IDENTITIES_CONFIG",
        "ROLE",
        "RULE",
        "SEGMENT",
        "SERVICE_DESK_INTEGRATION",
        "SOD_POLICY",
        "SOURCE",
        "TAG",
        "TRANSFORM",
        "TRIGGER_SUBSCRIPTION",
        "WORKFLOW",
    }
)
