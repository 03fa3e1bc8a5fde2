"""A spec's plan facts as `.specops/manifest.json` records them, read back as untrusted input.

`compile` records, per spec, what `diff --summary` compares (compiler.summary_facts.plan_facts),
so a committed output folder can be the base of a summary. Anyone who can open a pull request can
edit that folder: every string is bounded and printable (no control, line-break or bidirectional
character), every list is bounded, fact keys follow the shape specops gives them and are unique.
The writer validates its own record with the same model, so what it writes it can read.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from compiler.diagnostics import JsonPath
from compiler.errors import SpecopsError
from compiler.plan import Plan
from compiler.summary_facts import (
    INVISIBLE,
    MAX_KEY_CHARS,
    MAX_LABEL_CHARS,
    MAX_VALUE_CHARS,
    Fact,
    PlanFacts,
    plan_facts,
)

# Far above what the spec model allows (2000 columns, each with its schema and preprocessing
# facts, 50 sources, 100 parameters...: under 40,000), so a valid spec always fits.
MAX_SPEC_FACTS = 100_000
MAX_ENVIRONMENTS = 100  # the model allows 20
MAX_ENVIRONMENT_FACTS = 200  # specops records 12
_KEY = r"^[A-Za-z0-9_][A-Za-z0-9_.()-]*$"  # model.params.max_depth, data_checks.unique(id)


def _printable(value: str) -> str:
    if INVISIBLE.search(value):
        raise ValueError("has a control, line-break or bidirectional character")
    return value


Key = Annotated[str, Field(min_length=1, max_length=MAX_KEY_CHARS, pattern=_KEY)]
Label = Annotated[str, Field(max_length=MAX_LABEL_CHARS), AfterValidator(_printable)]
Value = Annotated[str, Field(max_length=MAX_VALUE_CHARS), AfterValidator(_printable)]
Unit = Annotated[str, Field(max_length=16), AfterValidator(_printable)]
Name = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FactRecord(_Strict):
    """One fact; `unit`, `group` and `group_label` are left out when empty."""

    key: Key
    label: Label
    value: Value | None
    unit: Unit = ""
    group: Key | None = None
    group_label: Label = ""


class EnvironmentRecord(_Strict):
    name: Name
    facts: Annotated[list[FactRecord], Field(max_length=MAX_ENVIRONMENT_FACTS)]


class FactsRecord(_Strict):
    """What `diff --summary` compares of one spec's plan, in the order it lists changes."""

    name: Name
    spec: Annotated[list[FactRecord], Field(max_length=MAX_SPEC_FACTS)]
    environments: Annotated[list[EnvironmentRecord], Field(max_length=MAX_ENVIRONMENTS)]


def _record(fact: Fact) -> FactRecord:
    return FactRecord(
        key=fact.key,
        label=fact.label,
        value=fact.value,
        unit=fact.unit,
        group=fact.group,
        group_label=fact.group_label,
    )


def record_facts(plan: Plan) -> FactsRecord:
    """The record of `plan`'s facts (a pure function of the plan: a worker may call it).

    Raises SpecopsError in the unexpected case that the plan's facts do not fit the record.
    """
    facts = plan_facts(plan)
    document = {
        "name": facts.name,
        "spec": [_record(f).model_dump() for f in facts.spec.values()],
        "environments": [
            {"name": name, "facts": [_record(f).model_dump() for f in env.values()]}
            for name, env in facts.environments.items()
        ],
    }
    try:
        return FactsRecord.model_validate(document)
    except ValidationError as exc:
        raise SpecopsError(
            f"{plan.provenance.spec_path}: cannot record the plan's facts: "
            f"{exc.errors()[0]['msg']} (at {exc.errors()[0]['loc']})"
        ) from exc


def dump_facts(record: FactsRecord) -> dict[str, object]:
    """The record as the manifest writes it (defaults left out)."""
    return record.model_dump(exclude_defaults=True)


def _twice(names: list[str]) -> int | None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            return index
        seen.add(name)
    return None


def duplicate_in(record: FactsRecord) -> tuple[JsonPath, str] | None:
    """Where `record` lists an environment or a fact key twice (a JSON path inside it)."""
    places: list[tuple[JsonPath, list[FactRecord]]] = [(("spec",), record.spec)]
    places += [(("environments", n, "facts"), e.facts) for n, e in enumerate(record.environments)]
    if (index := _twice([e.name for e in record.environments])) is not None:
        name = record.environments[index].name
        return ("environments", index, "name"), f"the environment {name!r} is listed twice"
    for where, facts in places:
        if (index := _twice([f.key for f in facts])) is not None:
            return (*where, index, "key"), f"the fact {facts[index].key!r} is listed twice"
    return None


def _fact(record: FactRecord) -> Fact:
    return Fact(
        record.key, record.label, record.value, record.unit, record.group, record.group_label
    )


def to_plan_facts(record: FactsRecord, spec_path: str) -> PlanFacts:
    """The recorded facts as a summary compares them."""
    return PlanFacts(
        record.name,
        spec_path,
        {f.key: _fact(f) for f in record.spec},
        {env.name: {f.key: _fact(f) for f in env.facts} for env in record.environments},
    )
