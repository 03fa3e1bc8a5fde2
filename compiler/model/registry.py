"""The model registry a spec registers its models in: `registry: {kind: mlflow, ...}`.

The tracking URI comes from the spec or the platform (`defaults.registry_tracking_uri`);
credentials only ever by reference: a Kubernetes Secret key for the pipeline steps, a CI secret
name for promotion. A URI that carries credentials (`https://user:pass@host`) is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema

from compiler.model.strict import Strict
from compiler.model.types import DnsLabel, SecretName, _check_uri

_TRACKING_SCHEMES = frozenset({"https", "http", "file", "sqlite"})
# MLflow reserves `latest` and `v<number>` as alias names (the version's own handles).
RESERVED_ALIAS = re.compile(r"^(latest|v[0-9]+)$", re.IGNORECASE)


def _tracking_uri(text: str) -> str:
    _check_uri(text, _TRACKING_SCHEMES, allow_relative=False)
    parts = urlsplit(text)
    if parts.scheme == "sqlite" and (parts.netloc or not parts.path.startswith("//")):
        raise ValueError("sqlite URIs must name an absolute database file: sqlite:////path/to.db")
    return text


TrackingUri = Annotated[
    str,
    StringConstraints(max_length=1024),
    AfterValidator(_tracking_uri),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 1024,
            "pattern": r"^(https?://[^\s@]+|file:///[^\s]*|sqlite:////[^\s]+)$",
            "description": "MLflow tracking URI, without credentials",
        }
    ),
]
RegisteredModelName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
]
SecretKey = Annotated[str, StringConstraints(pattern=r"^[-._a-zA-Z0-9]{1,253}$")]


class RegistryToken(Strict):
    """A Kubernetes Secret key holding the registry's access token (MLFLOW_TRACKING_TOKEN)."""

    secret: DnsLabel = Field(description="The Secret, in the pipeline's namespace.")
    key: SecretKey = Field(default="token", description="Its key that holds the token.")


class Registry(Strict):
    """Register every published model version in a model registry (MLflow's)."""

    kind: Literal["mlflow"]
    tracking_uri: TrackingUri | None = Field(
        default=None,
        description="The MLflow tracking URI (https://, http://, file:/// or sqlite:////), "
        "without credentials. Omitted: the platform's defaults.registry_tracking_uri.",
    )
    model_name: RegisteredModelName | None = Field(
        default=None,
        description="The registered model's name. Omitted: metadata.name. Each environment's "
        "alias (models:/<name>@<environment>) names the version it serves.",
    )
    token: RegistryToken | None = Field(
        default=None,
        description="Where the pipeline's steps read the registry token (a Kubernetes Secret "
        "key, as MLFLOW_TRACKING_TOKEN). Omitted: the platform's defaults.registry_token, "
        "else none (an open tracking server or a local store).",
    )
    ci_token_secret: SecretName | None = Field(
        default=None,
        description="The CI secret that holds the token the promotion jobs set aliases with. "
        "Omitted: the platform's defaults.registry_token_secret.",
    )


@dataclass(frozen=True, slots=True)
class RegistryPlan:
    """What the templates see of a spec's registry, with the platform's defaults applied."""

    kind: str
    tracking_uri: str
    model_name: str
    token: RegistryToken | None
    ci_token_secret: str

    @property
    def is_database(self) -> bool:
        """A SQLAlchemy store (sqlite): MLflow needs sqlalchemy and alembic to open it."""
        return self.tracking_uri.startswith("sqlite:")
