"""Registered names of orchestrations and activities, shared by the wiring, orchestrators and runner."""

EXPORT_ORCHESTRATION = "export_orchestrator"

CREATE_JOB = "create_export_job"
CHECK_JOB = "check_export_job"
DOWNLOAD = "download_export"
PUBLISH_EVENT = "publish_export_event"

SCHEDULED_EXPORTS_ORCHESTRATION = "scheduled_exports_orchestrator"
SCHEDULED_EXPORTS_LANE = "scheduled_exports_lane"
PLAN_SCHEDULED_EXPORTS = "plan_scheduled_exports"
CLAIM_SCHEDULED_EXPORT = "claim_scheduled_export"
CLOSE_SCHEDULED_EXPORTS = "close_scheduled_exports"
