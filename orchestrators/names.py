"""Registered names of orchestrations and activities, shared by the wiring, orchestrators and runner."""

EXPORT_ORCHESTRATION = "export_orchestrator"

CREATE_JOB = "create_export_job"
CHECK_JOB = "check_export_job"
DOWNLOAD = "download_export"
PUBLISH_EVENT = "publish_export_event"
CLEANUP_JOB = "cleanup_export_job"

# The claiming scheduler (`orchestrators.scheduled_exports`) is version 2: its inputs are not the previous release's,
# so it runs under new names while the previous release's parent and lanes finish under theirs
# (`orchestrators.scheduled_exports_v1`).
SCHEDULED_EXPORTS_ORCHESTRATION = "scheduled_exports_orchestrator_v2"
SCHEDULED_EXPORTS_LANE = "scheduled_exports_lane_v2"
SCHEDULED_EXPORTS_ORCHESTRATION_V1 = "scheduled_exports_orchestrator"
SCHEDULED_EXPORTS_LANE_V1 = "scheduled_exports_lane"
PLAN_SCHEDULED_EXPORTS = "plan_scheduled_exports"
CLAIM_SCHEDULED_EXPORT = "claim_scheduled_export"
CLOSE_SCHEDULED_EXPORTS = "close_scheduled_exports"
