"""The contracts are typed to the edges: the target, a stored blob, the orchestration input and output are models,
and the package cycle that kept the target a dict (`targets` importing `orchestrators`) is gone."""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel

from orchestrators.contracts import (
    CheckJobRequest,
    Contract,
    CreateJobRequest,
    DownloadRequest,
    ExportOutcome,
    PublishRequest,
    ScheduledExport,
    SchedulePlan,
    StoredExport,
)
from orchestrators.export_state import ExportInput
from sinks.blob_ref import BlobRef
from targets import Target
from tests.test_import_graph import module_graph, package_graph


def model_of(contract: type[BaseModel], field: str) -> object:
    """The model a field holds (unwrapping Annotated and Optional)."""
    annotation = contract.model_fields[field].annotation
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and arg is not type(None):
            return arg
    return annotation


@pytest.mark.parametrize(
    ("contract", "field", "model"),
    [
        (CreateJobRequest, "target", Target),
        (CheckJobRequest, "target", Target),
        (DownloadRequest, "target", Target),
        (ExportInput, "target", Target),
        (StoredExport, "blob", BlobRef),
        (PublishRequest, "blob", BlobRef),
        (ExportOutcome, "blob", BlobRef),
        (ScheduledExport, "target", Target),
    ],
)
def test_targets_and_blobs_in_the_contracts_are_models_not_dicts(
    contract: type[BaseModel], field: str, model: type
) -> None:
    assert model_of(contract, field) is model


def test_the_scheduler_plan_is_a_list_of_typed_exports() -> None:
    assert SchedulePlan.model_fields["exports"].annotation == list[ScheduledExport]
    assert issubclass(SchedulePlan, Contract)


def test_a_request_with_a_target_that_does_not_validate_is_refused_when_decoded() -> None:
    with pytest.raises(ValueError, match="base_url"):
        CheckJobRequest.from_json(
            {
                "target": {"name": "g", "connector": "sailpoint", "base_url": "ftp://x", "auth": {"kind": "x"}},
                "job_id": "j",
            }
        )


def test_targets_no_longer_imports_orchestrators_so_orchestrators_may_import_targets() -> None:
    packages = package_graph(module_graph())
    assert "orchestrators" not in packages["targets"]
    assert "targets" in packages["orchestrators"]
