"""What a spec's model registry needs that the model alone cannot check (CHK029-CHK031).

- CHK029: a registry with no tracking URI: neither `registry.tracking_uri` nor the platform's
  `defaults.registry_tracking_uri` gives one.
- CHK030: an environment whose name MLflow cannot take as an alias (`latest`, `v<number>`):
  promotion names each environment's version by the alias `models:/<name>@<environment>`.
- CHK031: framework custom: its model is a folder a container wrote, with no MLflow flavour
  to log it with.
"""

from __future__ import annotations

from collections.abc import Iterator

from compiler.diagnostics import Diagnostic, error
from compiler.model.registry import RESERVED_ALIAS
from compiler.platform.resolve import ResolvedSpec

# The MLflow flavour each built-in framework's model is logged with.
FLAVOURS = {"sklearn": "mlflow.sklearn", "xgboost": "mlflow.xgboost", "lightgbm": "mlflow.lightgbm"}


def registry_diagnostics(resolved: ResolvedSpec) -> Iterator[Diagnostic]:
    spec, loaded = resolved.spec, resolved.loaded
    registry = spec.registry
    if registry is None:
        return
    where = loaded.locate(("registry",), key=True)
    if registry.tracking_uri is None and resolved.defaults.registry_tracking_uri is None:
        yield error(
            "CHK029",
            "registry has no tracking URI: neither registry.tracking_uri nor the platform's "
            "defaults.registry_tracking_uri gives one",
            where,
            "set registry.tracking_uri, e.g. https://mlflow.example.com, or ask the platform "
            "team to set defaults.registry_tracking_uri",
        )
    for index, env in enumerate(spec.deploy.environments):
        if RESERVED_ALIAS.fullmatch(env.name):
            yield error(
                "CHK030",
                f"environment {env.name!r} cannot be a registry alias: MLflow reserves "
                "'latest' and 'v<number>' for its own version handles",
                loaded.locate(("deploy", "environments", index, "name")),
                "rename the environment (e.g. prod, staging) or remove registry",
            )
    if spec.model.framework not in FLAVOURS:
        yield error(
            "CHK031",
            f"registry needs a built-in framework ({', '.join(FLAVOURS)}): a "
            f"{spec.model.framework} model has no MLflow flavour to log it with",
            where,
            "remove registry, or train with sklearn, xgboost or lightgbm",
        )
