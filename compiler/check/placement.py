"""Where a spec deploys to: every environment needs a namespace and the spec a model storage root.

A spec may leave both to the platform (a namespace pattern per environment, a model storage
root). The rules see the resolved spec with what the platform gives filled in
(compiler.platform.resolve, `ResolvedSpec.spec`), so what is still missing here nobody gives.
"""

from __future__ import annotations

from collections.abc import Iterator

from compiler.check.rules import rule
from compiler.diagnostics import Diagnostic, error
from compiler.loader import LoadedSpec
from compiler.model.spec import MLPipeline


@rule
def placement(spec: MLPipeline, loaded: LoadedSpec) -> Iterator[Diagnostic]:
    for index, env in enumerate(spec.deploy.environments):
        if env.namespace is None:
            yield error(
                "CHK018",
                f"environment {env.name!r} has no namespace: the spec names none and no "
                "platform namespace pattern gives one",
                loaded.locate(("deploy", "environments", index, "name")),
                "add namespace: to this environment, or validate under a platform.yaml whose "
                f"environment {env.name!r} (or defaults.environment) has a namespace pattern",
            )
    if spec.deploy.model_uri is None:
        yield error(
            "CHK019",
            "deploy.model_uri is missing and no platform model storage root gives one",
            loaded.locate(("deploy",), key=True),
            "add deploy.model_uri (e.g. gs://bucket/models/<name>), or validate under a "
            "platform.yaml with a model_storage_root for the spec's environments",
        )
