"""The base side of `specops diff --summary`: the plan facts of a git ref or an output folder.

A git ref is read with git's plumbing (compiler.gitbase) and each spec planned with the platform
file of that ref. An output folder (a directory holding `.specops/manifest.json`) is read from
the facts its latest compile recorded there (compiler.facts_record): untrusted input, validated
as strictly as the manifest it is part of.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from compiler.check.secrets import spec_secrets
from compiler.errors import SpecopsError, UsageError
from compiler.facts_file import read_facts
from compiler.facts_record import to_plan_facts
from compiler.gitbase import BaseTree, read_base
from compiler.loader import load
from compiler.manifest import MANIFEST_PATH, SPECOPS_DIR, read_manifest_document
from compiler.model import build_model
from compiler.model.build import validate_as
from compiler.plan import Plan
from compiler.planner import build_plan
from compiler.platform import LoadedPlatform, Platform
from compiler.platform.resolve import resolve_spec
from compiler.sources import SourceFile, check_spec_path
from compiler.summary_facts import PlanFacts, plan_facts


@dataclass
class BaseSide:
    """The base's plan facts by spec name, the base specs that have none (and why), notes."""

    commit: str | None = None  # a git base
    folder: str | None = None  # an output folder base
    plans: dict[str, PlanFacts] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def is_output_folder(base: str) -> bool:
    """Whether `--base` names an output folder (one with a manifest, or a link in its place)."""
    root = Path(base)
    if not root.is_dir():
        return False
    marker = root / MANIFEST_PATH
    return (root / SPECOPS_DIR).is_symlink() or marker.exists() or marker.is_symlink()


def read_base_side(base: str, paths: list[Path], platform: Path | None) -> BaseSide:
    """The base `--base` names. Raises UsageError for a bad ref or path, or a folder whose
    compile recorded no facts; ManifestError for a malformed manifest."""
    if is_output_folder(base):
        return folder_base(Path(base))
    tree = read_base(base, paths, platform)
    plans, broken = base_plans(tree)
    return BaseSide(tree.commit, None, plans, broken, tree.notes)


# --- an output folder ------------------------------------------------------------------------


def _no_facts(root: Path, which: str) -> UsageError:
    return UsageError(
        problem=f"--base {root.as_posix()}: this output folder was compiled by a specops that did "
        f"not record plan facts{which}; recompile it or pass a git ref",
        hint=f"run `specops compile SPECS --out {root.as_posix()}` at the base and commit it, "
        "or pass the ref it was committed at, e.g. --base origin/main",
    )


def folder_base(root: Path) -> BaseSide:
    """The plan facts the latest compile of `root` recorded, by spec name.

    Raises ManifestError for a malformed manifest and UsageError when it records no facts."""
    manifest = read_manifest_document(root)
    if manifest.raw is None:
        raise UsageError(problem=f"--base {root.as_posix()}: {MANIFEST_PATH} is gone")
    if manifest.format < 3:
        raise _no_facts(root, f" (manifest format {manifest.format})")
    facts = read_facts(root, manifest)
    if missing := sorted(set(manifest.specs) - set(facts)):
        raise _no_facts(root, f" for {missing[0]!r}" + (" and others" if missing[1:] else ""))
    side = BaseSide(folder=root.as_posix())
    for path, record in sorted(facts.items()):
        if check_spec_path(path) is not None:
            side.notes.append(
                f"{path!r} in the base's manifest: a name specops refuses for a spec (SPEC004)"
            )
            continue
        if record.name in side.plans:
            side.notes.append(f"{path!r} in the base's manifest names {record.name!r} again")
            continue
        side.plans[record.name] = to_plan_facts(record, path)
    return side


# --- a git ref -------------------------------------------------------------------------------


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
        return build_plan(resolve_spec(spec, loaded, platform))
    except (ValueError, KeyError, SpecopsError):
        return "cannot be resolved"


def _raw_name(source: SourceFile) -> str | None:
    loaded, _ = load(source)
    metadata = loaded.data.get("metadata") if loaded is not None else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else None


def base_plans(tree: BaseTree) -> tuple[dict[str, PlanFacts], dict[str, str]]:
    """The plan facts of the base's specs by name, and why the others have none (by name)."""
    platform = _base_platform(tree)
    plans: dict[str, PlanFacts] = {}
    broken: dict[str, str] = {}
    for source in tree.specs:
        plan = _base_plan(source, platform)
        if isinstance(plan, Plan):
            plans.setdefault(plan.name, plan_facts(plan))
            continue
        name = _raw_name(source)
        if name is None:
            tree.notes.append(f"{source.path!r} at the base {plan} and has no name: skipped")
        else:
            broken.setdefault(name, plan)
    return plans, broken
