"""`specops explain SPEC JSONPATH [--env ENV]`: a field's final value and every layer that set it.

Without --env the path is into the spec (`$.model.resources.cpu`); with it, into one resolved
environment (`$.replicas.min`, `$.argocd_project`). `$.deploy.environments[prod].replicas` is the
same as `$.replicas` with `--env prod`. `$.defaults.…` is into the platform-wide settings
templates see as `plan.defaults` (`$.defaults.kfp_base_image`, `$.defaults.ci.checkout.sha`): the
built-in value, then the platform's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.api import validate_spec
from compiler.diagnostics import Diagnostic, JsonPath, format_json_path, has_errors
from compiler.errors import UsageError
from compiler.loader import LoadedSpec
from compiler.model.registry import Registry
from compiler.plan import Plan
from compiler.planner import build_plan
from compiler.platform.defaults import DEFAULTS_BOOK, ROOT, to_data
from compiler.platform.load import LoadedPlatform, load_platform
from compiler.platform.merge import (
    MISSING,
    Contribution,
    Layer,
    MergeRule,
    RuleBook,
    contributions,
    describe,
    value_at,
)
from compiler.platform.resolve import ENVIRONMENT_BOOK, SPEC_BOOK
from compiler.preprocessing import (
    BUILT_IN,
    SETTINGS,
    built_in_reason,
    effective_preprocessing,
    feature_columns,
)

_STEP = re.compile(
    r"\.(?P<key>[A-Za-z_][-A-Za-z0-9_]*)|\[(?P<index>[0-9]+)\]|\[(?P<name>[a-z0-9][-a-z0-9]*)\]"
    r"|\['(?P<quoted>[^']*)'\]|\[\"(?P<dquoted>[^\"]*)\"\]"
)


@dataclass(frozen=True, slots=True)
class ByName:
    """A `[name]` step: the list item whose `name` is this."""

    name: str


@dataclass
class ExplainOptions:
    spec: Path
    path: str
    environment: str | None = None
    platform: Path | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    spec_path: str
    environment: str | None
    path: JsonPath
    final: Any
    rule: MergeRule
    contributions: list[Contribution]
    defaults: bool = False  # a path into plan.defaults, not into the spec
    # A preprocessing setting: the spec path that chose its effective value, with where it
    # is written, or specops' built-in default (compiler.preprocessing).
    chosen_by: str | None = None
    # A champion gate (or a field of one): the model it compares with, and where that is set.
    champion: str | None = None

    def text(self) -> str:
        return render_text(self)


@dataclass
class ExplainResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    explanation: Explanation | None = None


def parse_path(text: str) -> list[str | int | ByName]:
    """`$.a.b[0]['c']` or `a.b[prod]`; raises UsageError when it does not parse."""
    body = text.strip().removeprefix("$")
    if body and body[0] not in ".[":
        body = "." + body
    steps: list[str | int | ByName] = []
    position = 0
    while position < len(body):
        match = _STEP.match(body, position)
        if match is None:
            raise UsageError(
                problem=f"cannot read JSON path {text!r} at {body[position:]!r}",
                hint="write it like $.model.resources.cpu or deploy.environments[prod].replicas",
            )
        key = match.group("key") or match.group("quoted") or match.group("dquoted")
        index, name = match.group("index"), match.group("name")
        steps.append(key if key is not None else int(index) if index else ByName(name))
        position = match.end()
    return steps


def explain(options: ExplainOptions) -> ExplainResult:
    """Explain one field of one valid spec.

    Raises UsageError for a path that does not parse or name a field, or an unknown environment.
    """
    platform: LoadedPlatform | None = None
    if options.platform is not None:
        platform, problems = load_platform(options.platform)
        if platform is None or has_errors(problems):
            return ExplainResult(problems)
    validated = validate_spec(options.spec, platform)
    resolved = validated.resolved
    if resolved is None or validated.loaded is None or has_errors(validated.diagnostics):
        return ExplainResult(validated.diagnostics)
    plan = build_plan(resolved)
    steps = parse_path(options.path)
    in_defaults = steps[:1] == [ROOT]
    if in_defaults and options.environment is not None:
        raise UsageError(problem="$.defaults is platform-wide: leave out --env")
    environment, steps = _split_environment(options, steps, plan)
    layers: tuple[Layer, ...]
    if in_defaults:
        view, layers = {ROOT: to_data(plan.defaults)}, resolved.defaults_layers
        book = DEFAULTS_BOOK
    elif environment is None:
        view, layers, book = _spec_view(plan), resolved.layered.layers, SPEC_BOOK
    else:
        env = resolved.layered.environment(environment)
        assert env is not None  # _split_environment checked the name
        view, layers, book = _environment_view(plan, environment), env.layers, ENVIRONMENT_BOOK
    path = _concrete(view, steps, options.path)
    chosen_by = None
    if not (in_defaults or environment):
        chosen_by = _chosen_by(plan, validated.loaded, path) or _registry_chosen_by(
            plan, validated.loaded, platform, path
        )
    champion = None if in_defaults or environment else _champion(plan, validated.loaded, path)
    explanation = Explanation(
        validated.path,
        environment,
        path,
        value_at(view, path),
        book.rule(path) if path else RuleBook([]).rule(()),
        contributions(layers, book, path),
        in_defaults,
        chosen_by,
        champion,
    )
    return ExplainResult(validated.diagnostics, explanation)


def _split_environment(
    options: ExplainOptions, steps: list[str | int | ByName], plan: Plan
) -> tuple[str | None, list[str | int | ByName]]:
    names = [e.name for e in plan.environments]
    environment = options.environment
    if steps[:2] == ["deploy", "environments"] and len(steps) > 2:
        selector = steps[2]
        picked = (
            selector.name
            if isinstance(selector, ByName)
            else names[selector]
            if isinstance(selector, int) and selector < len(names)
            else None
        )
        if environment is not None and picked != environment:
            raise UsageError(problem=f"the path names another environment than --env {environment}")
        environment, steps = picked, steps[3:]
        if environment is None:
            raise UsageError(problem=f"the spec has no environment {selector!r}")
    if environment is not None and environment not in names:
        raise UsageError(
            problem=f"the spec has no environment {environment!r}",
            hint=f"it has: {', '.join(names)}",
        )
    return environment, steps


def _spec_view(plan: Plan) -> dict[str, Any]:
    """The effective spec; `data.preprocessing.columns` lists every feature column with its
    effective settings (what the training step applies), not only the spec's entries."""
    view = plan.spec.model_dump(mode="json", by_alias=True)
    effective = effective_preprocessing(plan.spec)
    columns: dict[str, Any] = {}
    for column in feature_columns(plan.spec):
        steps = effective.get(column.name)
        settings = {} if steps is None else {k: v for k, v in steps.as_json().items()
                                             if k in SETTINGS}  # fmt: skip
        columns[column.name] = {"drop": steps is None, **settings}
    given = view["data"]["preprocessing"]["columns"]
    view["data"]["preprocessing"]["columns"] = {**given, **columns}  # given: non-features too
    if plan.registry is not None:  # what the pipeline and promotion use, defaults filled in
        token = plan.registry.token
        view["registry"].update(
            tracking_uri=plan.registry.tracking_uri,
            model_name=plan.registry.model_name,
            token=None if token is None else token.model_dump(mode="json"),
            ci_token_secret=plan.registry.ci_token_secret,
        )
    return view


# A registry field the spec leaves out: what fills it in (compiler.planner.registry_plan).
_REGISTRY_FILLED_BY = {
    "tracking_uri": ("defaults", "registry_tracking_uri"),
    "token": ("defaults", "registry_token"),
    "ci_token_secret": ("defaults", "registry_token_secret"),
}


def _registry_chosen_by(
    plan: Plan, loaded: LoadedSpec, platform: LoadedPlatform | None, path: JsonPath
) -> str | None:
    """Where an omitted registry field's effective value comes from."""
    registry = plan.spec.registry
    if registry is None or len(path) < 2 or path[0] != "registry":
        return None
    field = str(path[1])
    if field not in Registry.model_fields or getattr(registry, field) is not None:
        return None
    if field == "model_name":
        return f"metadata.name ({loaded.locate(('metadata', 'name'))})"
    setting = _REGISTRY_FILLED_BY.get(field)
    if setting is None:
        return None
    shown = "$." + ".".join(setting)
    if platform is not None and value_at(platform.loaded.data, setting) is not MISSING:
        return f"the platform's {shown} ({platform.locate(setting)})"
    return f"specops' built-in {shown}"


def _chosen_by(plan: Plan, loaded: LoadedSpec, path: JsonPath) -> str | None:
    """Where the effective value of a preprocessing column setting comes from."""
    if len(path) != 5 or path[:3] != ("data", "preprocessing", "columns"):
        return None
    steps = effective_preprocessing(plan.spec).get(str(path[3]))
    if steps is None or path[4] not in steps.origins:
        return None
    origin = steps.origins[str(path[4])]
    if origin == BUILT_IN:
        column = next(c for c in plan.spec.data.data_schema.columns if c.name == steps.name)
        return f"specops' built-in default ({built_in_reason(plan.spec, column, str(path[4]))})"
    return f"{origin} ({loaded.locate(tuple(origin.split('.')))})"


def _champion(plan: Plan, loaded: LoadedSpec, path: JsonPath) -> str | None:
    """For a champion gate: the version it compares with, where it is published and set."""
    if len(path) < 3 or path[:2] != ("validation", "metrics") or not isinstance(path[2], int):
        return None
    gate = plan.spec.validation.metrics[path[2]]
    found = next((g for g in plan.champion_gates if g.name == gate.name), None)
    if found is None:
        return None
    env = next(e for e in plan.environments if e.name == found.against)
    where = loaded.locate(("deploy", "environments", env.index, "model_version"))
    worse = "a decrease" if found.higher_is_better else "an increase"
    return (
        f"{found.champion_version}, the model_version environment {found.against} serves "
        f"({where}), published at {found.champion_uri}; a drop of {found.name} is {worse}, "
        f"at most {found.max_drop:g}"
    )


def _environment_view(plan: Plan, name: str) -> dict[str, Any]:
    """The environment as specops resolved it, in the shape of a spec environment entry."""
    index = next(i for i, e in enumerate(plan.environments) if e.name == name)
    resolved = plan.environments[index]
    entry = plan.spec.deploy.environments[index].model_dump(mode="json", by_alias=True)
    return {
        **entry,
        "resources": resolved.resources.model_dump(mode="json", by_alias=True),
        "argocd_project": resolved.argocd_project,
        "kfp_host": resolved.kfp_host,
        "model_storage_root": resolved.model_storage_root,
        "model_uri": plan.spec.deploy.model_uri,
        "storage_uri": resolved.storage_uri,
    }


def _concrete(view: Any, steps: list[str | int | ByName], text: str) -> JsonPath:
    path: list[str | int] = []
    node = view
    for step in steps:
        if isinstance(step, ByName) and isinstance(node, list):
            names = [item.get("name") if isinstance(item, dict) else None for item in node]
            if step.name not in names:
                raise UsageError(problem=f"{text}: no item named {step.name!r}")
            step = names.index(step.name)
        if isinstance(step, ByName) or value_at(node, (step,)) is MISSING:
            known = ", ".join(node) if isinstance(node, dict) else ""
            raise UsageError(
                problem=f"{text}: {format_json_path(tuple(path))} has no {step!r}",
                hint=f"fields here: {known}" if known else None,
            )
        path.append(step)
        node = value_at(node, (step,))
    return tuple(path)


# --- text ------------------------------------------------------------------------------------


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def render_text(item: Explanation) -> str:
    where = (
        f"environment {item.environment} of {item.spec_path}"
        if item.environment
        else f"the platform-wide defaults (compiling {item.spec_path})"
        if item.defaults
        else item.spec_path
    )
    how = describe(item.rule)
    lines = [
        f"{format_json_path(item.path)} in {where}",
        f"  final value: {_shown(item.final)}",
        f"  merge rule:  {how}" + (f" ({item.rule.why})" if item.rule.why else ""),
    ]
    if item.chosen_by is not None:
        lines.append(f"  chosen by:   {item.chosen_by}")
    if item.champion is not None:
        lines.append(f"  champion:    {item.champion}")
    if not item.contributions:
        if item.chosen_by is None:
            lines.append("  set by:      no layer; this is specops' built-in default")
        return "\n".join(lines) + "\n"
    lines.append("  layers, lowest first:")
    rows = [
        (c.layer, _shown(c.value), str(c.location), _status(item, c)) for c in item.contributions
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(3)]
        lines.append(f"    {cells[0]}  {cells[1]}  {cells[2]}  {row[3]}".rstrip())
    return "\n".join(lines) + "\n"


def _status(item: Explanation, contribution: Contribution) -> str:
    if contribution.overridden:
        return "overridden"
    if item.rule.strategy == "deep" and isinstance(contribution.value, dict):
        return "merged"
    return "wins"
