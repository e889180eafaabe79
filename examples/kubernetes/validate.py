"""Validates Kubernetes manifests: core objects with kubernetes-validate
(the API's own OpenAPI schemas, strict: unknown fields fail), PodProbeMarker
objects against podprobemarker.schema.json. Exit 0 when all are valid.

usage: validate.py FILE...   (default: the manifests beside this file)
"""
import json
import pathlib
import sys

import jsonschema
import kubernetes_validate
import yaml

HERE = pathlib.Path(__file__).parent
KUBERNETES_VERSION = "1.30.0"


def validate(path):
    errors = []
    for document in yaml.safe_load_all(path.read_text()):
        if document is None:
            continue
        kind = document.get("kind", "?")
        if kind == "PodProbeMarker":
            schema = json.loads((HERE / "podprobemarker.schema.json").read_text())
            validator = jsonschema.Draft202012Validator(schema)
            for error in validator.iter_errors(document):
                location = "/".join(str(part) for part in error.absolute_path)
                errors.append(f"{path.name}: {kind}: {location}: {error.message}")
        else:
            try:
                kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as error:
                location = "/".join(str(part) for part in error.path)
                errors.append(f"{path.name}: {kind}: {location}: {error.message}")
    return errors


def main(arguments):
    paths = [pathlib.Path(name) for name in arguments] or sorted(HERE.glob("*.yaml"))
    errors = [error for path in paths for error in validate(path)]
    for error in errors:
        print(error)
    print(f"{len(paths)} files, {len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
