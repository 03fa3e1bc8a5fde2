"""`specops templates check [DIR]` and `specops targets`: test templates before they merge.

Every target renders against every example spec (under the platform, if any) and every output
goes through its verifiers. Problems point at the template file and line, with the spec field
the template was reading; the templates' reads are compared with the spec's fields both ways.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from compiler.api import ValidatedSpec, layered_template_dirs, template_diagnostic, validate
from compiler.diagnostics import (
    Diagnostic,
    JsonPath,
    Location,
    Severity,
    error,
    format_json_path,
    has_errors,
    warning,
)
from compiler.errors import TemplateError
from compiler.planner import build_plan
from compiler.platform import LoadedPlatform, load_platform
from compiler.platform.recording import recording
from compiler.platform.usage import Reads, StaticAnalyser, spec_fields
from compiler.render import RenderedFile, Renderer
from compiler.sources import display_path
from compiler.targets import Target, discover_targets
from compiler.verify import VerifyContext, verify_files


@dataclass
class TemplatesCheckOptions:
    template_dir: Path | None = None  # the directory under test, layered over all others
    specs: list[Path] = field(default_factory=lambda: [Path("specs")])
    template_dirs: list[Path] = field(default_factory=list)
    platform: Path | None = None
    crd_dirs: list[Path] = field(default_factory=list)


@dataclass
class TemplatesCheckResult:
    diagnostics: list[Diagnostic]
    targets: list[str] = field(default_factory=list)
    specs: int = 0
    files: int = 0

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    @property
    def summary(self) -> str:
        return (
            f"checked {len(self.targets)} target(s) against {self.specs} spec(s): "
            f"{self.files} file(s) rendered\n"
        )


def check_templates(options: TemplatesCheckOptions) -> TemplatesCheckResult:
    """Render and verify every target for every example spec; never raises for bad templates.

    Raises UsageError when a spec path, template directory or the platform file is missing.
    """
    validated = validate(options.specs, options.platform)
    if validated.platform is None and options.platform is not None:
        return TemplatesCheckResult(validated.diagnostics)
    given = [*([options.template_dir] if options.template_dir else []), *options.template_dirs]
    dirs = layered_template_dirs(given, validated.platform)
    try:
        targets = list(discover_targets(dirs).values())
    except TemplateError as exc:
        return TemplatesCheckResult([*validated.diagnostics, template_diagnostic(exc)])
    specs = [s for s in validated.specs if s.spec is not None and not has_errors(s.diagnostics)]
    run = _Run(dirs, validated.platform)
    for item in specs:
        run.render(item, targets)
    context = VerifyContext(crd_dirs=tuple(options.crd_dirs))
    found = [*validated.diagnostics, *run.diagnostics]
    found += [run.verified(d) for d in verify_files(run.files, context)]
    found += run.static(targets)
    found += _unread(run.reads, specs)
    return TemplatesCheckResult(
        sorted(found, key=lambda d: d.sort_key()),
        [t.name for t in targets],
        len(specs),
        len(run.files),
    )


class _Run:
    def __init__(self, dirs: list[Path], platform: LoadedPlatform | None) -> None:
        self.dirs = dirs
        self.platform = platform
        self.renderer = Renderer(dirs)
        self.env = recording(self.renderer.env)
        self.renderer.env = self.env
        self.files: list[RenderedFile] = []
        self.diagnostics: list[Diagnostic] = []
        self.reads = Reads()
        self._spec_of: dict[str, ValidatedSpec] = {}

    def render(self, item: ValidatedSpec, targets: list[Target]) -> None:
        assert item.resolved is not None
        plan = build_plan(item.resolved)
        recorder = self.env.recorder
        recorder.start(plan)
        for target in targets:
            for output in target.definition.outputs:
                single = target.definition.model_copy(update={"outputs": [output]})
                recorder.last = None
                files, problems = self.renderer.render(plan, [Target(single, target.directory)])
                self.files.extend(files)
                self.diagnostics += [self._located(d, item, recorder.last) for d in problems]
        self.reads.update(recorder.reads)
        recorder.reads = Reads()

    def template_file(self, name: str) -> str:
        """Where the layered loader finds `target/template.j2`."""
        base = name.split(" (")[0]
        for root in self.dirs:
            if (root / base).is_file():
                return display_path(root / base)
        return name

    def _located(self, d: Diagnostic, item: ValidatedSpec, last: JsonPath | None) -> Diagnostic:
        where = Location(self.template_file(d.location.file), d.location.line, d.location.column)
        if last is None or item.loaded is None:
            return Diagnostic(d.code, d.severity, d.message, where, d.hint, d.related)
        spec_at = item.loaded.locate(last)
        message = f"{d.message} (reading spec field {format_json_path(last)})"
        return Diagnostic(d.code, d.severity, message, where, d.hint, (*d.related, spec_at))

    def verified(self, d: Diagnostic) -> Diagnostic:
        """A verifier's finding, moved to the template that produced the output."""
        file = next((f for f in self.files if f.path == d.location.file), None)
        if file is None:
            return d
        where = Location(self.template_file(file.template))
        message = f"{d.message} (in {d.location} rendered for {file.spec_path})"
        return Diagnostic(d.code, d.severity, message, where, d.hint, (d.location,))

    def static(self, targets: list[Target]) -> list[Diagnostic]:
        found: list[Diagnostic] = []
        for name, path in self._template_files(targets).items():
            found += self._analyse(name, path)
        for target in targets:
            for output in target.definition.outputs:
                if output.when is not None:
                    source = f"{{% if {output.when} %}}{{% endif %}}"
                    found += self._analyse(f"{target.name}/target.yaml", None, source)
        return found

    def _template_files(self, targets: list[Target]) -> dict[str, Path]:
        names: dict[str, Path] = {}
        for target in targets:
            for root in reversed(self.dirs):  # higher layers overwrite lower ones
                folder = root / target.name
                for path in sorted(folder.rglob("*.j2")) if folder.is_dir() else []:
                    names[path.relative_to(root).as_posix()] = path
        return dict(sorted(names.items()))

    def _analyse(self, name: str, path: Path | None, source: str | None = None) -> list[Diagnostic]:
        shown = display_path(path) if path else self.template_file(name)
        try:
            text = source if source is not None else path.read_text(encoding="utf-8")  # type: ignore[union-attr]
            tree = self.env.parse(text)
        except (OSError, jinja2.TemplateSyntaxError) as exc:
            line = getattr(exc, "lineno", 0) or 0
            return [error("TPL002", f"template does not parse: {exc}", Location(shown, line, 1))]
        reads = StaticAnalyser().run(tree)
        self.reads.update(reads)
        return [
            warning(
                "TPL020",
                f"{m.read} does not exist ({m.owner or 'the value'} has no such field)",
                Location(shown, m.line if source is None else 0, 1),
                _did_you_mean(m.read.rsplit(".", 1)[-1], m.known),
            )
            for m in reads.missing
        ]


def _did_you_mean(name: str, known: tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(name, known, n=1)
    return f"did you mean {close[0]!r}?" if close else None


def _unread(reads: Reads, specs: list[ValidatedSpec]) -> list[Diagnostic]:
    """Spec fields no template reads: a warning where an example sets one, else one note."""
    reported: list[JsonPath] = []
    unset: list[str] = []
    found: list[Diagnostic] = []
    for path in spec_fields():
        if reads.reads(path) or any(path[: len(r)] == r for r in reported):
            continue
        reported.append(path)
        where = _first_setting(specs, path)
        if where is None:
            unset.append(format_json_path(path))
            continue
        found.append(
            warning(
                "TPL030",
                f"no template reads spec field {format_json_path(path)}",
                where,
                "a value set here changes no generated file; render it or drop the field",
            )
        )
    if unset and specs:
        message = f"set by no example spec and read by no template: {', '.join(unset)}"
        first = specs[0].path
        found.append(Diagnostic("TPL031", Severity.NOTE, message, Location(first)))
    return found


def _first_setting(specs: list[ValidatedSpec], path: JsonPath) -> Location | None:
    for item in specs:
        if item.loaded is None:
            continue
        concrete = _find(item.loaded.data, path, ())
        if concrete is not None:
            return item.loaded.locate(concrete, key=True)
    return None


def _find(node: Any, path: JsonPath, done: JsonPath) -> JsonPath | None:
    if not path:
        return done
    head, rest = path[0], path[1:]
    if head == "[]" and isinstance(node, list):
        for index, item in enumerate(node):
            found = _find(item, rest, (*done, index))
            if found is not None:
                return found
        return None
    if isinstance(node, dict) and head in node:
        return _find(node[head], rest, (*done, head))
    return None


# --- specops targets -------------------------------------------------------------------------


@dataclass
class TargetsOptions:
    template_dirs: list[Path] = field(default_factory=list)
    platform: Path | None = None


@dataclass(frozen=True, slots=True)
class TargetListing:
    name: str
    description: str
    directory: str  # where its target.yaml is
    overrides: tuple[tuple[str, str], ...]  # (template, directory) taken from another layer


@dataclass
class TargetsResult:
    targets: list[TargetListing]
    diagnostics: list[Diagnostic]

    def text(self) -> str:
        width = max((len(t.name) for t in self.targets), default=0)
        lines = []
        for t in self.targets:
            lines.append(f"{t.name.ljust(width)}  {t.directory}")
            lines += [f"{'':{width}}    {name} from {where}" for name, where in t.overrides]
            lines.append(f"{'':{width}}    {t.description}")
        return "\n".join(lines) + "\n"


def list_targets(options: TargetsOptions) -> TargetsResult:
    """Every target across the layered template directories, with where each file comes from.

    Raises UsageError for a missing directory and TemplateError for a broken target.yaml.
    """
    platform: LoadedPlatform | None = None
    problems: list[Diagnostic] = []
    if options.platform is not None:
        platform, problems = load_platform(options.platform)
        if platform is None or has_errors(problems):
            return TargetsResult([], problems)
    dirs = layered_template_dirs(options.template_dirs, platform)
    listings = []
    for target in discover_targets(dirs).values():
        overrides = []
        for output in target.definition.outputs:
            for root in dirs:
                candidate = root / target.name / output.template
                if candidate.is_file():
                    if root / target.name != target.directory:
                        overrides.append((output.template, display_path(candidate.parent)))
                    break
        listings.append(
            TargetListing(
                target.name,
                target.definition.description,
                display_path(target.directory),
                tuple(overrides),
            )
        )
    return TargetsResult(listings, problems)
