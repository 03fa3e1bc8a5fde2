"""Stage 6: Plan + targets -> `RenderedFile`s, through a sandboxed Jinja environment.

StrictUndefined makes a misspelt field an error; `finalize` refuses any `{{ }}` value that did
not pass through a filter from `compiler.filters`, so spec text only reaches output escaped for
where it lands.
"""

from __future__ import annotations

import hashlib
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
import jinja2.meta

from compiler.diagnostics import Diagnostic, Location, error
from compiler.errors import TemplateError
from compiler.filters import FILTERS, Safe, UnsafeValueError
from compiler.layers import ConfinedLoader, ReadingEnvironment
from compiler.plan import Plan, ResolvedEnvironment
from compiler.post import run_post_step
from compiler.target_paths import SAFE_SEGMENT
from compiler.targets import OutputDef, Target


@dataclass(frozen=True, slots=True)
class RenderedFile:
    path: str  # POSIX, relative to the output directory
    content: str
    target: str
    template: str
    template_sha256: str
    spec_path: str
    spec_sha256: str
    verify: tuple[str, ...] = ()


class UnfilteredValueError(ValueError):
    """A template printed a value without a safety filter."""


def _finalize(value: Any) -> Any:
    if isinstance(value, Safe) or type(value) is int:
        return value
    raise UnfilteredValueError(
        f"{{{{ }}}} printed a {type(value).__name__} without a safety filter; end the expression "
        f"with one of: {', '.join(f'|{n}' for n in FILTERS)}"
    )


class Renderer:
    """Renders targets for plans; one instance (one Jinja environment) per run."""

    def __init__(self, template_dirs: list[Path]) -> None:
        self.template_dirs = template_dirs
        self.env = ReadingEnvironment(
            loader=ConfinedLoader([str(d) for d in template_dirs]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=_finalize,
        )
        self.env.filters.update(FILTERS)
        self._digests: dict[str, str] = {}
        self._conditions: dict[str, Callable[..., Any]] = {}
        self._sources_read: dict[str, str] = {}  # template name -> sha256 of its source

    def render(
        self, plan: Plan, targets: list[Target]
    ) -> tuple[list[RenderedFile], list[Diagnostic]]:
        files, diagnostics, _ = self.render_reading(plan, targets)
        return files, diagnostics

    def render_reading(
        self, plan: Plan, targets: list[Target]
    ) -> tuple[list[RenderedFile], list[Diagnostic], set[str]]:
        """`render`, and the name of every template the rendering loaded (includes chosen by
        an expression too): what the incremental build keys a spec's files on."""
        self.env.reading = set()
        try:
            files, diagnostics = self._render_all(plan, targets)
            return files, diagnostics, self.env.reading
        finally:
            self.env.reading = None

    def _render_all(
        self, plan: Plan, targets: list[Target]
    ) -> tuple[list[RenderedFile], list[Diagnostic]]:
        files: list[RenderedFile] = []
        diagnostics: list[Diagnostic] = []
        for target in targets:
            for output in target.definition.outputs:
                try:
                    instances = self._instances(plan, output)
                except Exception as exc:  # a `when:` that fails is the layer's bug, located
                    where = f"{target.name}/target.yaml"
                    diagnostics.append(self._template_problem(plan, where, exc))
                    continue
                for env in instances:
                    produced, problems = self._render_output(plan, target, output, env)
                    files.extend(produced)
                    diagnostics.extend(problems)
        return files, diagnostics

    def _instances(self, plan: Plan, output: OutputDef) -> list[ResolvedEnvironment | None]:
        instances: list[ResolvedEnvironment | None]
        instances = list(plan.environments) if output.per == "environment" else [None]
        if output.when is None:
            return instances
        condition = self._conditions.get(output.when)
        if condition is None:  # compiled once per run: the same `when:` serves every spec
            condition = self._conditions[output.when] = self.env.compile_expression(output.when)
        return [e for e in instances if condition(**self._context(plan, e))]

    @staticmethod
    def _context(plan: Plan, env: ResolvedEnvironment | None) -> dict[str, Any]:
        return {"plan": plan, "spec": plan.spec, "env": env, "provenance": plan.provenance}

    def _render_output(
        self, plan: Plan, target: Target, output: OutputDef, env: ResolvedEnvironment | None
    ) -> tuple[list[RenderedFile], list[Diagnostic]]:
        name = f"{target.name}/{output.template}"
        try:
            body = self.env.get_template(name).render(self._context(plan, env))
        except Exception as exc:  # any template failure becomes a located diagnostic
            return [], [self._template_problem(plan, name, exc)]
        path = output_path(output.path, plan, env)
        primary = self._file(plan, target, name, path, body, output.header, output.verify)
        if output.post is None:
            return [primary], []
        post = output.post
        content, problems = run_post_step(post.step, primary, plan)
        if content is None:
            return [primary], problems
        derived = self._file(
            plan,
            target,
            f"{name} ({post.step})",
            output_path(post.path, plan, env),
            content,
            post.header,
            post.verify,
        )
        return [primary, derived], problems

    def _file(
        self,
        plan: Plan,
        target: Target,
        template: str,
        path: str,
        body: str,
        header: str,
        verify: list[str],
    ) -> RenderedFile:
        content = with_header(body, header, plan, template)
        return RenderedFile(
            path,
            content,
            target.name,
            template,
            self._digest(template),
            plan.provenance.spec_path,
            plan.provenance.spec_sha256,
            tuple(verify),
        )

    def _digest(self, template: str) -> str:
        """Hash of the template and of every template it includes, imports or extends."""
        if template not in self._digests:
            digest = hashlib.sha256()
            for name, source in sorted(self._sources(template.split(" (")[0], {}).items()):
                digest.update(f"{len(name)}:{name}{len(source)}:{source}".encode())
            self._digests[template] = digest.hexdigest()
        return self._digests[template]

    def _sources(self, name: str, found: dict[str, str]) -> dict[str, str]:
        if name not in found:
            source, _, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
            found[name] = source
            for referenced in jinja2.meta.find_referenced_templates(self.env.parse(source)):
                if referenced is not None:  # a computed name cannot be followed statically
                    self._sources(referenced, found)
        return found

    def source_digest(self, name: str) -> str:
        """The sha256 of the source the template `name` resolves to now, in whichever layer.

        Read once per run (templates do not change under a compile), not once per spec.
        Raises what the loader raises for a template that is gone or refused."""
        if name not in self._sources_read:
            source, _, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
            self._sources_read[name] = hashlib.sha256(source.encode()).hexdigest()
        return self._sources_read[name]

    def _template_problem(self, plan: Plan, name: str, exc: Exception) -> Diagnostic:
        line = _template_line(exc, name)
        message = str(exc) if not isinstance(exc, jinja2.UndefinedError) else f"undefined: {exc}"
        if isinstance(exc, UnsafeValueError | UnfilteredValueError):
            message = str(exc)
        if isinstance(exc, TemplateError):  # a layer that reaches outside itself
            return error("TPL003", exc.message, Location(exc.template, exc.line))
        return error(
            "RND001",
            f"template {name} failed for spec {plan.name}: {message}",
            Location(name, line, 1),
            hint=f"while rendering {plan.provenance.spec_path}",
        )


def _template_line(exc: Exception, name: str) -> int:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.lineno
    line = 0
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename.replace("\\", "/").endswith(name):
            line = lineno
    return line


def output_path(pattern: str, plan: Plan, env: ResolvedEnvironment | None) -> str:
    """Fill an output path pattern; names are DNS labels, checked again segment by segment."""
    values = {"spec": plan.name, "team": plan.spec.metadata.team, "env": env.name if env else ""}
    path = PurePosixPath(pattern.format_map(values))
    if (
        path.is_absolute()
        or not all(SAFE_SEGMENT.fullmatch(p) for p in path.parts)
        or path.parts[0] == ".specops"
    ):
        raise ValueError(f"unsafe output path {path}")  # pragma: no cover - patterns are checked
    return path.as_posix()


_COMMENT = {"hash": ("# ", ""), "html": ("<!-- ", " -->")}
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def with_header(body: str, style: str, plan: Plan, template: str) -> str:
    """Prefix a provenance header in the file's comment syntax (JSON files carry none).

    Only what is stable for the file's meaning: the spec's path, the template and the compiler
    version. The spec's hash is in `.specops/manifest.json`; here it would change every file
    of a spec on any edit of it.
    """
    if style == "none":
        return body
    start, end = _COMMENT[style]
    p = plan.provenance
    lines = [
        f"Generated by specops {p.compiler_version} from {p.spec_path}: do not edit.",
        f"template: {template}",
    ]
    return "".join(f"{start}{_comment_text(line, style)}{end}\n" for line in lines) + body


def _comment_text(text: str, style: str) -> str:
    """A file name may hold a line break or `-->`: neither may end the comment early."""
    text = _LINE_BREAKING.sub("?", text)
    return text.replace("-->", "--&gt;") if style == "html" else text
