"""Targets are data: a folder under a template directory with a `target.yaml` and `.j2` files.

Template directories are layered, highest priority first: a platform's directory overrides a
built-in target file by file (its `target.yaml`, any template) or adds new targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compiler.errors import TemplateError, UsageError
from compiler.layers import check_layer
from compiler.target_paths import line_of, output_problems


def builtin_templates() -> Path:
    """The built-in template directory (inside the wheel, or the source checkout's)."""
    here = Path(__file__).resolve().parent
    packaged = here / "_data" / "templates"
    return packaged if packaged.is_dir() else here.parent / "templates"


class _Def(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PostDef(_Def):
    step: str
    path: str
    verify: list[str] = Field(default_factory=list)
    header: Literal["hash", "html", "none"] = "hash"


class OutputDef(_Def):
    template: str
    path: str
    per: Literal["spec", "environment"] = "spec"
    when: str | None = Field(default=None, description="Jinja expression; render only if true.")
    verify: list[str] = Field(default_factory=list)
    header: Literal["hash", "html", "none"] = "hash"
    post: PostDef | None = None


class TargetDef(_Def):
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    description: str
    outputs: list[OutputDef] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Target:
    definition: TargetDef
    directory: Path  # where its target.yaml was found

    @property
    def name(self) -> str:
        return self.definition.name


def discover_targets(template_dirs: list[Path]) -> dict[str, Target]:
    """Every target across the layered directories; the first directory to define one wins.

    Raises UsageError for a missing directory and TemplateError for a broken target.yaml or a
    symlink that leads out of its layer.
    """
    targets: dict[str, Target] = {}
    for root in template_dirs:
        if not root.is_dir():
            raise UsageError(problem=f"template directory not found: {root}")
        check_layer(root)
        for target_file in sorted(root.glob("*/target.yaml")):
            name = target_file.parent.name
            if name not in targets:
                targets[name] = Target(load_definition(target_file), target_file.parent)
    return dict(sorted(targets.items()))


def load_definition(path: Path) -> TargetDef:
    """A target.yaml, validated; raises TemplateError with its line for anything wrong."""
    try:
        loader = yaml.SafeLoader(path.read_text(encoding="utf-8"))
        try:
            node = loader.get_single_node()
            raw = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TemplateError(template=str(path), problem=f"cannot read: {exc}") from exc
    try:
        definition = TargetDef.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TemplateError(
            template=str(path), problem=f"{where}: {first['msg']}", line=line_of(node, first["loc"])
        ) from exc
    if definition.name != path.parent.name:
        raise TemplateError(
            template=str(path),
            problem=f"name {definition.name!r} must match its folder name",
            line=line_of(node, ("name",)),
        )
    for index, output in enumerate(definition.outputs):
        for keys, problem in output_problems(output):
            raise TemplateError(
                template=str(path), problem=problem, line=line_of(node, ("outputs", index, *keys))
            )
    return definition


def select_targets(available: dict[str, Target], names: list[str] | None) -> list[Target]:
    """The named targets (all when none are named); raises UsageError for an unknown name."""
    if not names:
        return list(available.values())
    unknown = [n for n in names if n not in available]
    if unknown:
        raise UsageError(
            problem=f"unknown target(s): {', '.join(unknown)}",
            hint=f"available: {', '.join(available)}",
        )
    return [available[n] for n in dict.fromkeys(names)]
