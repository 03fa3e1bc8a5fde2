"""`specops diff --summary`: what a change means, per spec and environment.

Both sides are resolved plans (`build_plan` with the platform file of that side), never text:
the head from the working tree, the base from a git ref read with `git show`'s plumbing
(compiler.gitbase). Specs are matched by `metadata.name`, so moving a file is not a new spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from compiler.check.secrets import spec_secrets
from compiler.diagnostics import Diagnostic
from compiler.errors import SpecopsError
from compiler.gitbase import BaseTree, read_base
from compiler.loader import load
from compiler.model import build_model
from compiler.model.build import validate_as
from compiler.plan import Plan, build_plan
from compiler.platform import LoadedPlatform, Platform
from compiler.platform.resolve import fill_omitted
from compiler.sources import SourceFile
from compiler.summary_facts import Fact, env_facts, spec_facts

SpecStatus = Literal["new", "removed", "changed", "unchanged"]
EnvStatus = Literal["new", "removed", "changed"]


@dataclass(frozen=True, slots=True)
class Change:
    key: str
    text: str
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class EnvironmentSummary:
    name: str
    status: EnvStatus
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, slots=True)
class SpecSummary:
    name: str
    path: str
    status: SpecStatus
    changes: tuple[Change, ...] = ()
    environments: tuple[EnvironmentSummary, ...] = ()
    base_path: str | None = None
    note: str | None = None


@dataclass
class Summary:
    base: str
    commit: str
    specs: list[SpecSummary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(s.status != "unchanged" for s in self.specs)


@dataclass
class SummaryOptions:
    paths: list[Path]
    base: str = "HEAD"
    platform: Path | None = None


@dataclass
class SummaryResult:
    diagnostics: list[Diagnostic]
    summary: Summary | None = None
    spec_count: int = 0

    @property
    def ok(self) -> bool:
        return self.summary is not None


# --- comparing facts -------------------------------------------------------------------------


def _merged_keys(before: dict[str, Fact], after: dict[str, Fact]) -> list[str]:
    """Head order, with each key only the base has placed after its predecessor there."""
    rank = {key: (index, 0) for index, key in enumerate(after)}
    anchor, extra = -1, 0
    for key in before:
        if key in rank:
            anchor, extra = rank[key][0], 0
        else:
            extra += 1
            rank[key] = (anchor, extra)
    return sorted(rank, key=rank.__getitem__)


def _value(fact: Fact | None) -> str | None:
    return None if fact is None else fact.value


def _scalar_text(fact: Fact, before: str | None, after: str | None) -> str:
    return f"{fact.label} {before or 'none'} → {after or 'none'}{fact.unit}"


def _group_change(facts: list[Fact], *, added: bool) -> Change:
    """One change for a group only one side has: a new or removed parameter, source, gate."""
    label = facts[0].group_label
    details = ", ".join(
        f"{f.label[len(label) :].strip()} {f.value}{f.unit}".strip()
        for f in facts
        if f.value is not None
    )
    group = facts[0].group or label
    if added:
        return Change(group, f"new {label}" + (f": {details}" if details else ""), None, details)
    was = f" (was {details})" if len(facts) == 1 and details else ""
    return Change(group, f"{label} removed{was}", details, None)


def compare_facts(before: dict[str, Fact], after: dict[str, Fact]) -> list[Change]:
    """The changes from `before` to `after`: one per changed fact, one per whole new or
    removed group, in a stable order."""
    groups_before = {f.group for f in before.values() if f.group}
    groups_after = {f.group for f in after.values() if f.group}
    changes: list[Change] = []
    done: set[str] = set()
    for key in _merged_keys(before, after):
        old, new = before.get(key), after.get(key)
        fact = new or old
        assert fact is not None
        group = fact.group
        if group and (group not in groups_before or group not in groups_after):
            if group not in done:
                done.add(group)
                side = after if new is not None else before
                members = [f for f in side.values() if f.group == group]
                changes.append(_group_change(members, added=new is not None))
            continue
        if _value(old) != _value(new):
            text = _scalar_text(fact, _value(old), _value(new))
            changes.append(Change(key, text, _value(old), _value(new)))
    return changes


# --- specs and environments ------------------------------------------------------------------


def _new_environment(plan: Plan, name: str) -> EnvironmentSummary:
    facts = env_facts(next(e for e in plan.environments if e.name == name))
    shown = [facts[k] for k in ("model_version", "namespace", "replicas", "canary", "approval")]
    text = ", ".join(f"{f.label} {f.value}" for f in shown if f.value not in (None, "none"))
    return EnvironmentSummary(
        name, "new", (Change("environment", f"new environment: {text}", None, text),)
    )


def compare_plans(base: Plan, head: Plan) -> SpecSummary:
    """What changes in one spec from `base` to `head`."""
    old = {e.name: e for e in base.environments}
    new = {e.name: e for e in head.environments}
    changes = compare_facts(spec_facts(base), spec_facts(head))
    if [n for n in new if n in old] == [n for n in old if n in new]:
        # only environments added or removed: their own lines say so
        changes = [c for c in changes if c.key != "deploy.environments"]
    if base.provenance.spec_path != head.provenance.spec_path:
        moved = (base.provenance.spec_path, head.provenance.spec_path)
        changes.insert(0, Change("path", f"file moved {moved[0]} → {moved[1]}", *moved))
    environments: list[EnvironmentSummary] = []
    for env in head.environments:
        if env.name not in old:
            environments.append(_new_environment(head, env.name))
            continue
        found = compare_facts(env_facts(old[env.name]), env_facts(env))
        if found:
            environments.append(EnvironmentSummary(env.name, "changed", tuple(found)))
    for env in base.environments:
        if env.name not in new:
            gone = Change("environment", "environment removed", env.model_version, None)
            environments.append(EnvironmentSummary(env.name, "removed", (gone,)))
    status: SpecStatus = "changed" if changes or environments else "unchanged"
    return SpecSummary(
        head.name, head.provenance.spec_path, status, tuple(changes), tuple(environments),
        base.provenance.spec_path,
    )  # fmt: skip


def _added(head: Plan, note: str | None = None) -> SpecSummary:
    envs = ", ".join(e.name for e in head.environments)
    text = f"new spec: {head.spec.model.framework} {head.spec.model.task}, environments {envs}"
    change = Change("spec", text, None, head.name)
    return SpecSummary(head.name, head.provenance.spec_path, "new", (change,), note=note)


def _removed(base: Plan) -> SpecSummary:
    change = Change("spec", "spec removed", base.name, None)
    path = base.provenance.spec_path
    return SpecSummary(base.name, path, "removed", (change,), base_path=path)


def summarize_plans(
    base: dict[str, Plan], head: dict[str, Plan], broken: dict[str, str] | None = None
) -> list[SpecSummary]:
    """One summary per spec name on either side, sorted by name. `broken` names the base specs
    that exist but do not resolve, and why."""
    broken = broken or {}
    result = []
    for name in sorted({*base, *head}):
        if name not in head:
            result.append(_removed(base[name]))
        elif name in base:
            result.append(compare_plans(base[name], head[name]))
        else:
            why = broken.get(name)
            note = f"the base version {why}: everything reads as new" if why else None
            result.append(_added(head[name], note))
    return result


# --- reading both sides ----------------------------------------------------------------------


def _base_platform(tree: BaseTree) -> LoadedPlatform | None:
    if tree.platform is None:
        return None
    loaded, _ = load(tree.platform)
    platform, _ = validate_as(loaded, Platform) if loaded is not None else (None, [])
    if loaded is None or platform is None:
        tree.notes.append(f"{tree.platform.path!r} at the base does not validate: ignored")
        return None
    return LoadedPlatform(platform, loaded)


def _base_plan(source: SourceFile, platform: LoadedPlatform | None) -> Plan | str:
    """The base spec's plan, or why there is none. The base's own checks are not run: the
    summary reads what it said, the head is what must be valid."""
    loaded, _ = load(source)
    if loaded is None:
        return "does not load"
    if spec_secrets(loaded)[1]:  # a PR comment would repeat it to everyone who reads it
        return "holds a credential (SEC001), which specops does not print"
    spec, _ = build_model(loaded)
    if spec is None:
        return "does not validate"
    try:
        return build_plan(fill_omitted(platform, spec, loaded), loaded, platform=platform)
    except (ValueError, KeyError, SpecopsError):
        return "cannot be resolved"


def _raw_name(source: SourceFile) -> str | None:
    loaded, _ = load(source)
    metadata = loaded.data.get("metadata") if loaded is not None else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else None


def base_plans(tree: BaseTree) -> tuple[dict[str, Plan], dict[str, str]]:
    """The plans of the base's specs by name, and why the others have none (by name)."""
    platform = _base_platform(tree)
    plans: dict[str, Plan] = {}
    broken: dict[str, str] = {}
    for source in tree.specs:
        plan = _base_plan(source, platform)
        if isinstance(plan, Plan):
            plans.setdefault(plan.name, plan)
            continue
        name = _raw_name(source)
        if name is None:
            tree.notes.append(f"{source.path!r} at the base {plan} and has no name: skipped")
        else:
            broken.setdefault(name, plan)
    return plans, broken


def summarize(options: SummaryOptions) -> SummaryResult:
    """Validate the head, read the base at its ref and compare their plans.

    Raises UsageError for a bad ref or path; an invalid head comes back as diagnostics.
    """
    from compiler.api import validate  # the api module imports the whole pipeline

    validated = validate(options.paths, options.platform)
    if not validated.ok:
        return SummaryResult(validated.diagnostics, spec_count=len(validated.specs))
    head: dict[str, Plan] = {}
    for item in validated.specs:
        assert item.spec is not None and item.loaded is not None  # validated.ok
        plan = build_plan(item.spec, item.loaded, platform=validated.platform)
        head[plan.name] = plan
    tree = read_base(options.base, options.paths, options.platform)
    base, broken = base_plans(tree)
    for name, why in sorted(broken.items()):
        if name not in head:
            tree.notes.append(f"spec {name!r} is gone; its base version {why}")
    summary = Summary(options.base, tree.commit, summarize_plans(base, head, broken), tree.notes)
    return SummaryResult(validated.diagnostics, summary, len(validated.specs))
