"""`specops init NAME`: a new spec from the platform's defaults that validates on its first run.

The scaffold names one environment per platform environment (namespace from the platform's
pattern), data under the platform's data root and models under its storage root, and writes
only what the platform does not already layer in, plus what its policies demand (owners,
approval, monitoring). It is validated under the same platform before it is written.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from compiler.api import validate_spec
from compiler.diagnostics import Diagnostic, has_errors
from compiler.errors import UsageError
from compiler.filters import to_yaml
from compiler.model.types import DNS_LABEL
from compiler.plan import Defaults
from compiler.platform import LoadedPlatform, Platform, load_platform
from compiler.platform.delivery import git_remote_url
from compiler.platform.settings import apply_platform_defaults

_DNS = re.compile(DNS_LABEL)
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
FALLBACK_ENVIRONMENTS = ("staging", "prod")
SCHEMA_FILE = Path("schemas/mlpipeline.v1.json")
# A schema reference is written into a YAML comment: a URL or a relative path, nothing else.
_SCHEMA_REF = re.compile(r"^(https://[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]+|[A-Za-z0-9._/-]+\.json)$")


@dataclass
class InitOptions:
    name: str
    team: str = "ml"
    owner: str | None = None  # default: <team>@example.com
    directory: Path = field(default_factory=lambda: Path("specs"))
    platform: Path | None = None
    schema: str | None = None  # the $schema reference to write (default: see schema_reference)


@dataclass
class InitResult:
    path: Path
    diagnostics: list[Diagnostic]
    written: bool
    schema_written: Path | None = None  # the schema init wrote next to the spec

    @property
    def ok(self) -> bool:
        return self.written


def init_spec(options: InitOptions) -> InitResult:
    """Write `<directory>/<name>.yaml` if it validates under the platform.

    Raises UsageError for a bad name, team or owner, a directory that cannot hold a spec, or
    when the file exists already.
    """
    owner = options.owner or f"{options.team}@example.com"
    _check_arguments(options.name, options.team, owner)
    if options.schema is not None and not _SCHEMA_REF.match(options.schema):
        raise UsageError(
            problem=f"--schema {options.schema!r} is neither an https:// URL nor a path to a "
            ".json file",
            hint="e.g. --schema https://example.com/schemas/mlpipeline.v1.json",
        )
    try:
        _check_directory(options.directory)
        return _init(options, owner)
    except OSError as exc:  # read-only, full, permission denied: the --dir given is unusable
        raise UsageError(
            problem=f"cannot write a spec in {options.directory}: {exc.strerror or exc}",
            hint="pass --dir a folder you can write to",
        ) from exc


def _init(options: InitOptions, owner: str) -> InitResult:
    target = options.directory / f"{options.name}.yaml"
    if target.exists():
        raise UsageError(problem=f"{target} exists already", hint="pick another name")
    platform: LoadedPlatform | None = None
    if options.platform is not None:
        platform, problems = load_platform(options.platform)
        if platform is None or has_errors(problems):
            return InitResult(target, problems, written=False)
    reference = options.schema or schema_reference(target.parent)
    text = scaffold_text(options.name, options.team, owner, platform, reference)
    diagnostics = _validated(text, target, platform)
    if has_errors(diagnostics):
        return InitResult(target, diagnostics, written=False)
    schema = None
    if options.schema is None and reference == LOCAL_SCHEMA:
        from compiler.schema import write_schema

        path, changed = write_schema(target.parent)
        schema = path if changed else None
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return InitResult(target, diagnostics, written=True, schema_written=schema)


# Kernel and device trees, and the file system root: never a place for a spec.
_SYSTEM = tuple(Path(p) for p in ("/proc", "/sys", "/dev", "/run", "/boot", "/etc", "/usr", "/bin"))


def _check_directory(directory: Path) -> None:
    real = directory.resolve()
    if real.exists() and not real.is_dir():
        raise UsageError(problem=f"--dir {directory} is not a directory")
    if real == Path(real.anchor) or any(real == s or s in real.parents for s in _SYSTEM):
        raise UsageError(
            problem=f"--dir {directory} is a system folder ({real})",
            hint="specs belong in the repository, e.g. --dir specs",
        )


def _check_arguments(name: str, team: str, owner: str) -> None:
    for label, value in (("name", name), ("team", team)):
        if not _DNS.match(value):
            raise UsageError(
                problem=f"{label} {value!r} is not a DNS-1123 label",
                hint="lowercase letters, digits and '-'; a letter or digit at both ends",
            )
    if not _EMAIL.match(owner):
        raise UsageError(problem=f"owner {owner!r} is not an email address")


def _validated(text: str, target: Path, platform: LoadedPlatform | None) -> list[Diagnostic]:
    """Validate the scaffold as if it were already at `target` (same folder, same checks)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(suffix=".yaml", dir=target.parent, prefix=".specops-init-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        return validate_spec(Path(name), platform).diagnostics
    finally:
        Path(name).unlink(missing_ok=True)


def scaffold_text(
    name: str, team: str, owner: str, platform: LoadedPlatform | None, schema: str | None = None
) -> str:
    """The new spec's YAML, pointing editors at `schema`; every value goes through the YAML
    filter."""
    config = platform.platform if platform is not None else None
    lines = [
        *([f"# yaml-language-server: $schema={schema}"] if schema else []),
        "apiVersion: specops/v1",
        "kind: MLPipeline",
        "metadata:",
        f"  name: {to_yaml(name)}",
        f"  team: {to_yaml(team)}",
        f"  owners: [{to_yaml(owner)}]",
        '  description: "TODO: what this model predicts, for whom."',
        "data:",
        "  sources:",
        "    - name: training-data",
        f"      uri: {to_yaml(_data_uri(config, team, name))}",
        "      format: parquet",
        '      version: "v1"',
        "  schema:",
        "    columns:",
        "      - {name: feature_1, type: float}",
        "      - {name: feature_2, type: float}",
        "      - {name: label, type: int, allowed: [0, 1]}",
        "  target: label",
        "model:",
        "  framework: sklearn",
        "  task: classification",
        "  estimator: sklearn.linear_model.LogisticRegression",
        "validation:",
        "  metrics:",
        "    - {name: roc_auc, min: 0.7}",
        "deploy:",
        f"  model_uri: {to_yaml(_model_uri(config, team, name))}",
        *_argocd(platform, team),
        "  environments:",
        *_environments(config, team, name),
        "monitoring:",
        '  drift: {schedule: "0 * * * *", method: psi, threshold: 0.2}',
        *_alerts(platform),
    ]
    return "\n".join(lines) + "\n"


LOCAL_SCHEMA = "mlpipeline.v1.json"  # written next to the spec when no committed one is found


def schema_reference(folder: Path) -> str:
    """The committed schemas/mlpipeline.v1.json, relative to `folder`, when the working directory
    has one and `folder` is inside it; else the schema init writes next to the spec."""
    if not SCHEMA_FILE.is_file() or not folder.resolve().is_relative_to(Path.cwd().resolve()):
        return LOCAL_SCHEMA
    return Path(os.path.relpath(SCHEMA_FILE.resolve(), folder.resolve())).as_posix()


def _data_uri(config: Platform | None, team: str, name: str) -> str:
    root = config.defaults.data_root if config is not None else None
    return f"{(root or 'gs://' + team + '-ml-data').rstrip('/')}/{name}/train.parquet"


def _model_uri(config: Platform | None, team: str, name: str) -> str:
    roots = []
    if config is not None:
        roots = [config.defaults.environment.model_storage_root]
        roots += [e.model_storage_root for e in config.environments]
    root = next((r for r in roots if r), f"gs://{team}-ml-models")
    return f"{root.rstrip('/')}/{name}"


# What the scaffold writes for a delivery setting nothing else gives (CHK024-CHK026): a visible
# TODO in the new spec, never a value in the outputs that nobody reviewed.
TODO_REPO_URL = "https://git.example.com/TODO/gitops.git"
TODO_RUNBOOK_URL = "https://runbooks.example.com/TODO"


def _argocd(platform: LoadedPlatform | None, team: str) -> list[str]:
    defaults = apply_platform_defaults(Defaults(), platform)
    entries: dict[str, str] = {}
    if defaults.argocd_repo_url is None and git_remote_url(Path.cwd().resolve()) is None:
        entries["repo_url"] = TODO_REPO_URL
    config = platform.platform if platform is not None else None
    envs = [e.argocd_project for e in config.environments] if config else []
    given = config.defaults.environment.argocd_project if config else None
    if defaults.argocd_project is None and not (envs and all(envs)) and given is None:
        entries["project"] = team
    if not entries:
        return []
    inner = ", ".join(f"{key}: {to_yaml(value)}" for key, value in entries.items())
    todo = "  # TODO: your GitOps repository" if "repo_url" in entries else ""
    return [f"  argocd: {{{inner}}}{todo}"]


def _alerts(platform: LoadedPlatform | None) -> list[str]:
    if apply_platform_defaults(Defaults(), platform).runbook_base_url is not None:
        return ["  alerts: {error_rate: 0.01}"]
    runbook = to_yaml(TODO_RUNBOOK_URL)
    return [f"  alerts: {{error_rate: 0.01, runbook_url: {runbook}}}  # TODO: your runbooks"]


def _environments(config: Platform | None, team: str, name: str) -> list[str]:
    names = [e.name for e in config.environments] if config and config.environments else []
    lines = []
    for env in names or list(FALLBACK_ENVIRONMENTS):
        lines += [
            f"    - name: {to_yaml(env)}",
            f"      namespace: {to_yaml(_namespace(config, team, name, env))}",
            '      model_version: "v1"',
        ]
        if config is not None and _needs_approval(config, env):
            lines.append("      approval: required")
    return lines


def _namespace(config: Platform | None, team: str, name: str, env: str) -> str:
    pattern = None
    if config is not None:
        entry = next((e for e in config.environments if e.name == env), None)
        pattern = (entry.namespace if entry else None) or config.defaults.environment.namespace
    namespace = (pattern or "{team}-{env}").format(team=team, spec=name, env=env)
    return namespace if len(namespace) <= 63 else f"{team}-{env}"[:63].rstrip("-")


def _needs_approval(config: Platform, env: str) -> bool:
    """Write `approval: required` where a policy wants it and the platform does not set it."""
    policy = config.policies.approval_required
    if policy is None or policy.level_for(env) == "off":
        return False
    entry = next((e for e in config.environments if e.name == env), None)
    given = (entry.approval if entry else None) or config.defaults.environment.approval
    return given != "required"
