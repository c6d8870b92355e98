"""Registered names of orchestrations and activities, shared by the wiring, orchestrators and runner."""

EXPORT_ORCHESTRATION = "export_orchestrator"

CREATE_JOB = "create_export_job"
CHECK_JOB = "check_export_job"
DOWNLOAD = "download_export"
PUBLISH_EVENT = "publish_export_event"
CLEANUP_JOB = "cleanup_export_job"

SCHEDULED_EXPORTS_ORCHESTRATION = "scheduled_exports_orchestrator"
SCHEDULED_EXPORTS_LANE = "scheduled_exports_lane"
