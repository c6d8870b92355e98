"""The JSON Schema of a connector spec, generated from the models, for editors: `connectors/specs/schema.json`.

Regenerate with `python -m connectors.spec.schema`; a test fails while the file is not current.
"""

from __future__ import annotations

import json
from pathlib import Path

from connectors.spec.loader import BUILT_IN
from connectors.spec.model import ConnectorSpec

SCHEMA_FILE = BUILT_IN / "schema.json"


def schema_text() -> str:
    schema = ConnectorSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Export connector spec"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(path: Path = SCHEMA_FILE) -> None:
    path.write_text(schema_text(), encoding="utf-8")


if __name__ == "__main__":
    write()
