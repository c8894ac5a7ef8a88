"""Validates JSON values against one schema of an OpenAPI 3.1 document, with the
jsonschema library (JSON Schema 2020-12, the dialect of OpenAPI 3.1).

stdin: JSON {"document": <the OpenAPI document>, "schema": "<components.schemas name>",
             "instances": [<values>]}.
stdout: JSON list, one null per valid value or the validator's first complaint.
"""
import json
import sys

from jsonschema import Draft202012Validator

given = json.load(sys.stdin)
document = given["document"]
# The document is the root, so its "#/components/schemas/…" references resolve.
root = {
    "$ref": "#/components/schemas/" + given["schema"],
    "components": document["components"],
}
Draft202012Validator.check_schema(root)
validator = Draft202012Validator(root)
results = []
for instance in given["instances"]:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    results.append(None if not errors else f"{list(errors[0].absolute_path)}: {errors[0].message}")
json.dump(results, sys.stdout)
