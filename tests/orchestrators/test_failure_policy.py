"""Failures that repeating cannot fix are permanent, each failure says where it happened, and one table decides.

An answer that cannot be decoded, a request or input that cannot be, and a corrupt per-job manifest fail the
export at once with what was wrong, instead of being retried as transient for hours. `UpstreamError` is only the
upstream's; storage, token-cache and configuration failures have types of their own, and a history written
before them (kind "storage") still reads.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError

from activities.connections import connector_for
from activities.export_activities import check_export_job, download_export
from app_functions import ORCHESTRATORS
from credentials.token_cache import storage_error
from kernel.errors import (
    ActivityFailed,
    ConfigurationError,
    ContractError,
    ErrorKind,
    ExportError,
    Source,
    StorageError,
    TokenCacheError,
    UpstreamError,
)
from local.runner import LocalRunner, OrchestrationResult
from orchestrators import names
from orchestrators.export_state import ExportInput
from orchestrators.failure_policy import REFUSED_BY, REMEDIES, Remedy, remedy
from sinks.blob_names import manifest_blob_name
from targets import parse_targets
from tests.support import storage

TARGET = {
    "name": "goals",
    "connector": "sailpoint",
    "base_url": "https://acme.api.identitynow.com/v2025",
    "auth": {"kind": "bearer_env", "env": "T"},
}
JOB = {"job_id": "j-1", "state": "running", "upstream_status": "IN_PROGRESS"}


class Activities:
    """Stand-in activities, no I/O: the check answers `checked`; every call is counted."""

    def __init__(self, checked: Any) -> None:
        self.checked = checked
        self.calls: list[str] = []
        self.published: list[dict[str, Any]] = []

    def table(self) -> dict[str, Any]:
        def create(payload: Any) -> Any:
            self.calls.append(names.CREATE_JOB)
            return {"job": JOB}

        def check(payload: Any) -> Any:
            self.calls.append(names.CHECK_JOB)
            return self.checked

        def publish(payload: Any) -> Any:
            self.published.append(payload)
            return {"id": "e"}

        return {names.CREATE_JOB: create, names.CHECK_JOB: check, names.PUBLISH_EVENT: publish}


def run(activities: Activities, request: Any = None) -> OrchestrationResult:
    target = parse_targets({"targets": [TARGET]})["goals"]
    payload = request or ExportInput(target=target, run_key="k").to_dict()
    runner = LocalRunner(ORCHESTRATORS, activities.table(), timer_scale=0)
    return runner.run(names.EXPORT_ORCHESTRATION, payload, "export-goals-k")


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ({"job": {"job_id": 7}}, "job.state: Field required"),
        ("not an answer", "the answer of activity check_export_job cannot be decoded"),
        ({"error": {"kind": "no such kind", "message": "x"}}, "cannot be decoded"),
        ({"schema_version": 9, "job": JOB}, "schema version 9 is not one this release reads (it reads 1 and 2)"),
    ],
)
def test_an_answer_that_cannot_be_decoded_fails_the_export_at_once_saying_what_was_wrong(
    answer: Any, said: str
) -> None:
    activities = Activities(answer)
    result = run(activities)
    assert result.status == "Failed"
    assert "a recorded value cannot be read: contract error:" in (result.error or "")
    assert said in (result.error or "")
    assert activities.calls.count(names.CHECK_JOB) == 1  # never retried: the history would answer the same
    assert [p["outcome"] for p in activities.published] == ["failed"]


def test_an_orchestration_input_of_an_unknown_release_fails_with_an_event_naming_the_versions() -> None:
    activities = Activities({"job": JOB})
    target = parse_targets({"targets": [TARGET]})["goals"]
    request = {**ExportInput(target=target, run_key="k").to_dict(), "schema_version": 4}
    result = run(activities, request)
    assert result.status == "Failed"
    assert "ExportInput: schema version 4 is not one this release reads (it reads 1 and 2)" in (result.error or "")
    assert activities.calls == []
    assert [(p["outcome"], p["target"]["name"]) for p in activities.published] == [("failed", "goals")]


def test_an_activity_request_that_cannot_be_decoded_is_answered_as_a_permanent_failure() -> None:
    answer = check_export_job({"target": {**TARGET, "base_url": "ftp://nowhere"}, "job_id": "j-1"})
    error = ExportError.from_dict(answer["error"])
    assert isinstance(error, ContractError)
    assert error.kind is ErrorKind.PERMANENT
    assert "the request of activity check_export_job cannot be decoded: target" in error.message


@pytest.mark.integration
@pytest.mark.usefixtures("export_env")
@pytest.mark.parametrize("corrupt", [b"{not json", b'{"target": "goals"}', b'{"schema_version": 3}'])
def test_a_corrupt_per_job_manifest_fails_the_download_permanently_naming_it(corrupt: bytes) -> None:
    target = parse_targets({"targets": [TARGET]})["goals"]
    name = manifest_blob_name("goals", "j-1")
    storage.container().upload_blob(name, corrupt, overwrite=True)
    request = {"target": target.to_input(), "job": {**JOB, "state": "succeeded"}, "instance_id": "i"}
    error = ExportError.from_dict(download_export(request)["error"])
    assert isinstance(error, ContractError)
    assert error.kind is ErrorKind.PERMANENT
    assert f"manifest {name} cannot be read" in error.message


# -- error types ----------------------------------------------------------------------------------------------


def test_a_storage_failure_recorded_before_error_types_reads_as_a_transient_storage_error() -> None:
    old = {"kind": "storage", "message": "Blob Storage: down", "status_code": None, "code": None}
    error = ExportError.from_dict({**old, "retry_after_s": None, "existing_job_id": None})
    assert isinstance(error, StorageError)
    assert not isinstance(error, UpstreamError)
    assert (error.kind, str(error)) == (ErrorKind.TRANSIENT, "storage error: Blob Storage: down")
    assert remedy(error, creating=False) is Remedy.RETRY


@pytest.mark.parametrize(
    "error",
    [
        UpstreamError(ErrorKind.CONFLICT, "busy", status_code=409, existing_job_id="j-0", retry_after_s=3.0),
        StorageError(ErrorKind.TRANSIENT, "Blob Storage: down"),
        TokenCacheError(ErrorKind.PERMANENT, "cannot read the token cache blob c/b", status_code=403),
        ConfigurationError(ErrorKind.PERMANENT, "credential setting X is not set"),
        ContractError(ErrorKind.PERMANENT, "the answer cannot be decoded"),
        ActivityFailed(ErrorKind.TRANSIENT, "activity x failed: OSError"),
    ],
)
def test_each_error_type_round_trips_through_the_history_as_itself(error: ExportError) -> None:
    read = ExportError.from_dict(json.loads(json.dumps(error.to_dict())))
    assert type(read) is type(error)
    assert read.to_dict() == error.to_dict()
    assert str(read) == str(error)


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_only_the_upstream_our_storage_and_the_host_are_ever_retried(kind: ErrorKind) -> None:
    assert ConfigurationError(kind, "x").kind is ErrorKind.PERMANENT
    assert ContractError(kind, "x").kind is ErrorKind.PERMANENT
    assert UpstreamError(kind, "x").kind is kind


def test_the_table_says_what_to_do_about_every_kind_and_every_source() -> None:
    assert set(REMEDIES) == set(ErrorKind)
    assert set(REFUSED_BY) == set(Source)
    conflict = UpstreamError(ErrorKind.CONFLICT, "busy", existing_job_id="j-0")
    assert (remedy(conflict, creating=True), remedy(conflict, creating=False)) == (Remedy.ADOPT, Remedy.RETRY)


def test_token_cache_failures_are_their_own_type_not_upstream_failures() -> None:
    refused = HttpResponseError(message="forbidden")
    refused.status_code = 403
    assert isinstance(storage_error(refused, "read", "token-caches/goals.json"), TokenCacheError)
    assert storage_error(refused, "read", "c/b").kind is ErrorKind.PERMANENT
    unreachable = storage_error(ServiceRequestError("down"), "read", "c/b")
    assert (type(unreachable), unreachable.kind) == (TokenCacheError, ErrorKind.TRANSIENT)


def test_a_missing_credential_setting_is_a_configuration_error_not_an_upstream_one() -> None:
    with pytest.raises(ConfigurationError, match="credential setting SP_SECRET is not set"):
        connector_for(
            {
                **TARGET,
                "auth": {"kind": "client_credentials_env", "client_id_env": "SP_ID", "client_secret_env": "SP_SECRET"},
            },
            {"SP_ID": "id"},
        )


def test_an_activity_without_export_storage_configured_fails_permanently_saying_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("EXPORTS_STORAGE_CONNECTION_STRING", "EXPORTS_BLOB_ACCOUNT_URL", "EXPORTS_QUEUE_ACCOUNT_URL"):
        monkeypatch.delenv(name, raising=False)
    target = parse_targets({"targets": [TARGET]})["goals"]
    answer = download_export({"target": target.to_input(), "job": {**JOB, "state": "succeeded"}, "instance_id": "i"})
    error = ExportError.from_dict(answer["error"])
    assert isinstance(error, ConfigurationError)
    assert error.kind is ErrorKind.PERMANENT
    assert "set EXPORTS_STORAGE_CONNECTION_STRING" in error.message
