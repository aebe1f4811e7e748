"""The JSON Schema of the dependency file, generated from the models.

``python -m app.stackfile.schema > config/stacks.schema.json`` (``make schema``) regenerates the
shipped copy; a test fails when that copy is stale.
"""

import json
from typing import Any

from app.stackfile.models import StackFileModel

SCHEMA_ID = "https://github.com/stackchain/stackchain/config/stacks.schema.json"


def json_schema() -> dict[str, Any]:
    """The schema editors use to complete and check ``stacks.yaml``."""
    schema = StackFileModel.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def json_schema_text() -> str:
    """The schema as the shipped file holds it: indented, keys in model order, final newline."""
    return json.dumps(json_schema(), indent=2) + "\n"


if __name__ == "__main__":
    print(json_schema_text(), end="")  # noqa: T201 - the output is the point
