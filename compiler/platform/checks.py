"""The rules that read a resolved spec rather than the spec alone (compiler.platform.resolve).

What the spec, the platform and the checkout give together: delivery settings (CHK024-CHK026),
the model registry (CHK029-CHK031, compiler.registry), then, with a platform, what layering
found (PLT0xx) and the platform's policies (compiler.platform.policies).
"""

from __future__ import annotations

from collections.abc import Iterator

from compiler.diagnostics import Diagnostic, error
from compiler.platform.policies import platform_diagnostics
from compiler.platform.resolve import ResolvedSpec
from compiler.registry import registry_diagnostics


def resolved_diagnostics(resolved: ResolvedSpec) -> list[Diagnostic]:
    """Every finding about one resolved spec, in a stable order."""
    return [
        *delivery_diagnostics(resolved),
        *registry_diagnostics(resolved),
        *platform_diagnostics(resolved),
    ]


def delivery_diagnostics(resolved: ResolvedSpec) -> Iterator[Diagnostic]:
    """CHK024-CHK026 for each delivery setting nothing gives (compiler.platform.delivery)."""
    spec, loaded, found = resolved.spec, resolved.loaded, resolved.delivery
    if found.repo_url is None:
        yield error(
            "CHK024",
            "no GitOps repository for the Argo CD Applications and promotion: the spec, the "
            "platform and the checkout's git remote give none",
            loaded.locate(("deploy",), key=True),
            "add deploy.argocd.repo_url to the spec, or defaults.gitops.repo_url to "
            "platform.yaml, or compile in a git checkout whose remote origin is the repository",
        )
    for index, env in enumerate(spec.deploy.environments):
        # a batch-only environment has no Argo CD Application (the argocd target skips it)
        if found.projects[env.name] is None and env.serve:
            yield error(
                "CHK025",
                f"environment {env.name!r} has no Argo CD project: neither the spec nor the "
                "platform gives one",
                loaded.locate(("deploy", "environments", index, "name")),
                "add deploy.argocd.project to the spec, or argocd_project to the platform's "
                f"environment {env.name!r} (or defaults.gitops.project) in platform.yaml",
            )
    if spec.monitoring.alerts is not None and found.runbook_url is None:
        yield error(
            "CHK026",
            "the alerts link no runbook: neither the spec nor the platform gives a runbook URL",
            loaded.locate(("monitoring", "alerts"), key=True),
            "add monitoring.alerts.runbook_url to the spec, or defaults.runbook_base_url to "
            "platform.yaml",
        )
