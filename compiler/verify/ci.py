"""CI verifiers: generated workflows are checked by the tools that know the providers.

- `github-workflow`: check-jsonschema's vendored `vendor.github-workflows` schema, plus a
  structural rule of our own: no `${{ }}` expression inside a `run:` script.
- `gitlab-ci`: check-jsonschema's vendored `vendor.gitlab-ci` schema.
- `zizmor`: the zizmor security linter, offline, with any finding an error.

check-jsonschema is a CLI only (its FAQ says it is not a library) and zizmor is a binary, so each
runs once per compile over a temporary directory holding every file that names it; findings are
mapped back to the rendered files. A tool that is not installed leaves its files unverified
(reported by the CLI), never silently passed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import yaml

from compiler.diagnostics import Diagnostic, error
from compiler.verify import VerifyContext, batch_verifier, file_location

if TYPE_CHECKING:
    from compiler.render import RenderedFile

_TIMEOUT_SECONDS = 300
# libyaml where it is installed: the pure-Python loader is ten times slower on the same result.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_UNPARSED: Any = object()  # a file whose YAML did not parse
_GITLAB_ARGS = ("--data-transform", "gitlab-ci", "--regex-variant", "nonunicode")
Route = tuple[str | int, ...]


@batch_verifier("github-workflow")
def verify_github_workflows(files: list[RenderedFile], context: VerifyContext) -> list[Diagnostic]:
    """Schema errors (CI001) and `${{ }}` inside `run:` (CI004) for GitHub workflow files."""
    parsed = _parsed(files)
    problems = [d for file, document in parsed for d in expressions_in_run(file, document)]
    kept = [file for file, _ in parsed]
    return problems + _check_jsonschema(kept, context, "vendor.github-workflows", ())


@batch_verifier("gitlab-ci")
def verify_gitlab_ci(files: list[RenderedFile], context: VerifyContext) -> list[Diagnostic]:
    """Schema errors (CI002) for GitLab CI files."""
    return _check_jsonschema(_parseable(files), context, "vendor.gitlab-ci", _GITLAB_ARGS)


@batch_verifier("zizmor")
def verify_zizmor(files: list[RenderedFile], context: VerifyContext) -> list[Diagnostic]:
    """Every zizmor finding (offline audits, regular persona) is an error (CI003)."""
    binary = zizmor_binary()
    if binary is None:
        context.unverified.add("GitHub workflow security (zizmor is not installed)")
        return []
    files = _parseable(files)
    if not files:
        return []
    with _staged(files, ".github/workflows") as staged:
        command = [binary, "--offline", "--no-config", "--no-progress", "--no-exit-codes"]
        command += ["--format", "json", *staged]
        ran = _run(command, "zizmor", files)
        if isinstance(ran, Diagnostic):
            return [ran]
        return _zizmor_findings(ran, staged, files)


# --- our own structural rule ------------------------------------------------------------------


def expressions_in_run(file: RenderedFile, document: Any = _UNPARSED) -> list[Diagnostic]:
    """A `${{ }}` inside `run:` is expanded into the script before the shell sees it; values must
    arrive through `env:` instead. YAML that does not parse is the `yaml` verifier's to report.
    `document` is the file already parsed, if it was."""
    if document is _UNPARSED:
        try:
            document = yaml.load(file.content, Loader=_LOADER)
        except yaml.YAMLError:
            return []
    jobs = document.get("jobs") if isinstance(document, dict) else None
    problems = []
    for route in _run_routes(jobs if isinstance(jobs, dict) else {}):
        script = _follow(document, route)
        if isinstance(script, str) and "${{" in script:
            line, column = _position(file.content, route)
            problems.append(
                error(
                    "CI004",
                    f"a GitHub expression is expanded inside a run: script at {_route_text(route)}",
                    file_location(file, line, column),
                    hint=f"pass the value through the step's env: instead ({file.template})",
                )
            )
    return problems


def _run_routes(jobs: dict[Any, Any]) -> Iterator[Route]:
    for job_id, job in jobs.items():
        steps = job.get("steps") if isinstance(job, dict) else None
        for index, step in enumerate(steps if isinstance(steps, list) else []):
            if isinstance(step, dict) and "run" in step:
                yield ("jobs", str(job_id), "steps", index, "run")


def _follow(document: Any, route: Route) -> Any:
    for key in route:
        document = document[key]
    return document


def _route_text(route: Route) -> str:
    return "$" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in route)


# --- check-jsonschema -------------------------------------------------------------------------


def _check_jsonschema(
    files: list[RenderedFile], context: VerifyContext, schema: str, extra: tuple[str, ...]
) -> list[Diagnostic]:
    if importlib.util.find_spec("check_jsonschema") is None:
        context.unverified.add(f"{schema} (check-jsonschema is not installed)")
        return []
    if not files:
        return []
    code = "CI001" if "github" in schema else "CI002"
    with _staged(files, "ci") as staged:
        command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema]
        command += [*extra, "--output-format", "json", *staged]
        ran = _run(command, "check-jsonschema", files, ok_codes=(0, 1))
        if isinstance(ran, Diagnostic):
            return [ran]
        by_path = dict(zip(staged, files, strict=True))
        return [_schema_problem(code, schema, item, by_path) for item in _schema_errors(ran)]


def _schema_errors(output: str) -> list[dict[str, Any]]:
    report: dict[str, list[dict[str, Any]]] = json.loads(output)
    return report.get("errors", []) + report.get("parse_errors", [])


def _schema_problem(
    code: str, schema: str, item: dict[str, Any], by_path: dict[str, RenderedFile]
) -> Diagnostic:
    file = by_path[item["filename"]]
    best = item.get("best_match") or item
    deep = item.get("best_deep_match")
    json_path = str(best.get("path", "$"))
    line, column = _position(file.content, _parse_json_path(json_path))
    hint = f"{schema}; template {file.template}"
    if deep and deep.get("path") != json_path:
        hint = f"deepest error at {deep['path']}: {deep['message']}; {hint}"
    return error(
        code,
        f"does not match the {schema} schema at {json_path}: {best.get('message', '')}",
        file_location(file, line, column),
        hint=hint,
    )


_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _parse_json_path(text: str) -> Route:
    """`$.jobs.build.steps[0]` -> ("jobs", "build", "steps", 0); keys with dots stay split and
    are rejoined while locating them."""
    return tuple(
        int(index) if index else key for key, index in _PATH_PART.findall(text.removeprefix("$"))
    )


# --- zizmor -----------------------------------------------------------------------------------


def zizmor_binary() -> str | None:
    """zizmor from this interpreter's environment first (the version specops was installed
    with), then from PATH."""
    local = Path(sysconfig.get_path("scripts")) / ("zizmor.exe" if os.name == "nt" else "zizmor")
    if local.is_file():
        return str(local)
    return shutil.which("zizmor")


def _zizmor_findings(output: str, staged: list[str], files: list[RenderedFile]) -> list[Diagnostic]:
    by_path = {os.path.realpath(p): f for p, f in zip(staged, files, strict=True)}
    problems = []
    for finding in json.loads(output):
        for location in finding.get("locations", []):
            symbolic = location.get("symbolic", {})
            if symbolic.get("kind") != "Primary":
                continue
            local = symbolic.get("key", {}).get("Local", {})
            file = by_path.get(os.path.realpath(local.get("verbatim_path", "")))
            if file is None:
                continue
            start = location.get("concrete", {}).get("location", {}).get("start_point", {})
            problems.append(_zizmor_problem(finding, symbolic, file, start))
    return problems


def _zizmor_problem(
    finding: dict[str, Any], symbolic: dict[str, Any], file: RenderedFile, start: dict[str, int]
) -> Diagnostic:
    severity = finding.get("determinations", {}).get("severity", "")
    annotation = symbolic.get("annotation", "")
    return error(
        "CI003",
        f"zizmor {finding.get('ident')} ({severity}): {finding.get('desc')}: {annotation}",
        file_location(file, start.get("row", -1) + 1, start.get("column", -1) + 1),
        hint=f"{finding.get('url', 'https://docs.zizmor.sh/audits/')}; template {file.template}",
    )


# --- shared plumbing --------------------------------------------------------------------------


def _parseable(files: list[RenderedFile]) -> list[RenderedFile]:
    """Leave out files that do not parse and that the `yaml` verifier already reports."""
    return [file for file, _ in _parsed(files)]


def _parsed(files: list[RenderedFile]) -> list[tuple[RenderedFile, Any]]:
    """The files `_parseable` keeps, each with its document (`_UNPARSED` if it does not parse)."""
    kept = []
    for file in files:
        try:
            document = yaml.load(file.content, Loader=_LOADER)
        except yaml.YAMLError:
            if "yaml" in file.verify:
                continue
            document = _UNPARSED
        kept.append((file, document))
    return kept


@contextmanager
def _staged(files: list[RenderedFile], folder: str) -> Iterator[list[str]]:
    """Write the files into a fresh temporary directory; numbered names cannot collide."""
    with tempfile.TemporaryDirectory(prefix="specops-verify-") as root:
        directory = Path(root, folder)
        directory.mkdir(parents=True)
        paths = []
        for index, file in enumerate(files):
            path = directory / f"{index:04d}-{PurePosixPath(file.path).name}"
            path.write_text(file.content, encoding="utf-8")
            paths.append(str(path))
        yield paths


def _run(
    command: list[str], tool: str, files: list[RenderedFile], ok_codes: tuple[int, ...] = (0,)
) -> str | Diagnostic:
    """The tool's stdout, or one diagnostic saying why it could not give an answer."""
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return _tool_failed(tool, files, str(exc))
    if done.returncode not in ok_codes:
        return _tool_failed(tool, files, f"exit {done.returncode}: {done.stderr.strip()[-500:]}")
    try:
        json.loads(done.stdout)
    except ValueError:
        return _tool_failed(tool, files, f"unreadable output: {done.stdout.strip()[:200]}")
    return done.stdout


def _tool_failed(tool: str, files: list[RenderedFile], reason: str) -> Diagnostic:
    return error(
        "CI005",
        f"{tool} could not verify {len(files)} file(s): {reason}",
        file_location(files[0]),
        hint=f"run {tool} by hand on the generated files to see the problem",
    )


def _position(content: str, route: Route) -> tuple[int, int]:
    """1-based line and column of the key (or item) at `route`, or of the deepest part found."""
    try:
        node: yaml.Node | None = yaml.compose(content, Loader=_LOADER)
    except yaml.YAMLError:
        return 0, 0
    mark = node
    parts = list(route)
    while node is not None and parts:
        node, where, parts = _step(node, parts)
        mark = where or mark
    if mark is None:
        return 0, 0
    return mark.start_mark.line + 1, mark.start_mark.column + 1


def _step(
    node: yaml.Node, parts: list[str | int]
) -> tuple[yaml.Node | None, yaml.Node | None, list[str | int]]:
    """The child at parts[0], the node to point at for it (its key), and the parts left."""
    head = parts[0]
    if isinstance(node, yaml.SequenceNode) and isinstance(head, int):
        if head < len(node.value):
            return node.value[head], node.value[head], parts[1:]
    elif isinstance(node, yaml.MappingNode):
        # A key that contained dots arrives split: try the longest join first.
        for width in range(len(parts), 0, -1):
            key = ".".join(str(p) for p in parts[:width])
            for key_node, value_node in node.value:
                if key_node.value == key:
                    return value_node, key_node, parts[width:]
    return None, None, []
