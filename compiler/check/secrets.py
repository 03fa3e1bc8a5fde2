"""No credential is ever written into a spec: reference Secrets by name (SEC001).

The scan runs on the loaded data, before the model, so that a spec with a credential and a typo
reports both; `compiler.credentials` does the finding with detect-secrets.
"""

from __future__ import annotations

import functools
import typing

from compiler.credentials import DIGEST, REFERENCE, Located, located_diagnostics, scan_tree
from compiler.diagnostics import Diagnostic, JsonPath
from compiler.loader import LoadedSpec
from compiler.model import types
from compiler.model.spec import MLPipeline
from compiler.typed_paths import typed_paths

HINT = "store it in a Kubernetes Secret and reference it by name under model.secrets"
# Values of these types have a fixed shape: a hash, or the name of something (a Secret, an env
# variable, a Kubernetes object), never a password.
ROLE_TYPES = {
    DIGEST: (types.Sha256, types.GitRevision),
    REFERENCE: (types.SecretName, types.EnvVarName, types.DnsLabel),
}


def spec_secrets(loaded: LoadedSpec) -> tuple[list[Diagnostic], list[Located]]:
    """SEC001 for every credential in a spec's keys and values, and the credentials found
    (for `scrub`, so no other diagnostic repeats one)."""
    found = scan_tree(loaded.data, spec_roles())
    return located_diagnostics(loaded, found, "spec", HINT), found


@functools.cache
def spec_roles() -> dict[JsonPath, str]:
    return typed_paths(MLPipeline, role_patterns())


@functools.cache
def role_patterns() -> dict[str, str]:
    """`{a type's string pattern: its role}`, the form `typed_paths` matches types by."""
    return {
        str(item.pattern): role
        for role, annotated in ROLE_TYPES.items()
        for tp in annotated
        for item in typing.get_args(tp)[1:]
        if getattr(item, "pattern", None)
    }
