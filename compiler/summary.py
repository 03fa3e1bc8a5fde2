"""`specops diff --summary`: what a change means, per spec and environment.

Both sides are the facts of resolved plans (`build_plan` with the platform file of that side),
never text: the head from the working tree, the base from a git ref or from the facts an output
folder's latest compile recorded (compiler.summary_base). Specs are matched by `metadata.name`,
so moving a file is not a new spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from compiler.diagnostics import Diagnostic
from compiler.planner import build_plan
from compiler.summary_base import read_base_side
from compiler.summary_facts import Fact, PlanFacts, plan_facts

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
    commit: str | None  # None: the base is an output folder
    specs: list[SpecSummary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    folder: str | None = None  # the output folder the base was read from

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


def _new_environment(facts: dict[str, Fact], name: str) -> EnvironmentSummary:
    keys = ("model_version", "namespace", "replicas", "canary", "approval")
    shown = [facts[k] for k in keys if k in facts]
    text = ", ".join(f"{f.label} {f.value}" for f in shown if f.value not in (None, "none"))
    return EnvironmentSummary(
        name, "new", (Change("environment", f"new environment: {text}", None, text),)
    )


def _environments(base: PlanFacts, head: PlanFacts) -> list[EnvironmentSummary]:
    old, new = base.environments, head.environments
    environments: list[EnvironmentSummary] = []
    for name, facts in new.items():
        if name not in old:
            environments.append(_new_environment(facts, name))
        elif found := compare_facts(old[name], facts):
            environments.append(EnvironmentSummary(name, "changed", tuple(found)))
    for name, facts in old.items():
        if name not in new:
            version = _value(facts.get("model_version"))
            gone = Change("environment", "environment removed", version, None)
            environments.append(EnvironmentSummary(name, "removed", (gone,)))
    return environments


def compare_plans(base: PlanFacts, head: PlanFacts) -> SpecSummary:
    """What changes in one spec from `base` to `head`."""
    old, new = base.environments, head.environments
    changes = compare_facts(base.spec, head.spec)
    if [n for n in new if n in old] == [n for n in old if n in new]:
        # only environments added or removed: their own lines say so
        changes = [c for c in changes if c.key != "deploy.environments"]
    if base.spec_path != head.spec_path:
        moved = (base.spec_path, head.spec_path)
        changes.insert(0, Change("path", f"file moved {moved[0]} → {moved[1]}", *moved))
    environments = _environments(base, head)
    status: SpecStatus = "changed" if changes or environments else "unchanged"
    return SpecSummary(
        head.name, head.spec_path, status, tuple(changes), tuple(environments), base.spec_path
    )


def _added(head: PlanFacts, note: str | None = None) -> SpecSummary:
    envs = ", ".join(head.environments)
    kind = " ".join(_value(head.spec.get(k)) or "?" for k in ("model.framework", "model.task"))
    change = Change("spec", f"new spec: {kind}, environments {envs}", None, head.name)
    return SpecSummary(head.name, head.spec_path, "new", (change,), note=note)


def _removed(base: PlanFacts) -> SpecSummary:
    change = Change("spec", "spec removed", base.name, None)
    return SpecSummary(base.name, base.spec_path, "removed", (change,), base_path=base.spec_path)


def summarize_plans(
    base: dict[str, PlanFacts], head: dict[str, PlanFacts], broken: dict[str, str] | None = None
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


def summarize(options: SummaryOptions) -> SummaryResult:
    """Validate the head, read the base (a git ref or an output folder) and compare their plans.

    Raises UsageError for a bad ref or path or a folder with no facts, ManifestError for a
    malformed manifest; an invalid head comes back as diagnostics.
    """
    from compiler.api import validate  # the api module imports the whole pipeline

    validated = validate(options.paths, options.platform)
    if not validated.ok:
        return SummaryResult(validated.diagnostics, spec_count=len(validated.specs))
    head: dict[str, PlanFacts] = {}
    for item in validated.specs:
        assert item.resolved is not None  # validated.ok
        plan = build_plan(item.resolved)
        head[plan.name] = plan_facts(plan)
    side = read_base_side(options.base, options.paths, options.platform)
    for name, why in sorted(side.broken.items()):
        if name not in head:
            side.notes.append(f"spec {name!r} is gone; its base version {why}")
    specs = summarize_plans(side.plans, head, side.broken)
    summary = Summary(options.base, side.commit, specs, side.notes, side.folder)
    return SummaryResult(validated.diagnostics, summary, len(validated.specs))
