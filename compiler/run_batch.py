"""`specops run SPEC --local --batch ENV`: score a file with the locally published model version.

Compiles that environment's batch-scoring pipeline exactly as `specops compile` does and runs its
IR with kfp.local, with compiler.run's local adaptations. The model is the version a local
training run published (`<out-dir>/models/<model_version>`); the predictions go to
`<out-dir>/predictions/<env>`, never to `batch.output.uri`: a local run must not write to shared
storage (as it registers in a store of its own, not the spec's registry).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compiler.diagnostics import Diagnostic, has_errors
from compiler.errors import UsageError
from compiler.run import (
    LocalRunError,
    RunOptions,
    check_options,
    check_packages,
    compile_kubeflow,
    execute_local,
    failure_summary,
    local_plan,
    model_modules,
    run_dir,
    run_header,
    uri_modules,
    write_outputs,
)

if TYPE_CHECKING:
    from compiler.api import ValidatedSpec
    from compiler.model.batch import Batch
    from compiler.plan import Plan, ResolvedEnvironment

_PREDICTIONS_FILE = re.compile(r"^predictions\.[a-z]+$")


@dataclass
class BatchRunResult:
    spec: str
    diagnostics: list[Diagnostic]
    env: str = ""
    model_version: str = ""  # the version the environment pins (the score step checks it)
    out_dir: Path | None = None
    output: str | None = None  # the folder the run wrote, a file:// URI
    failed_task: str | None = None
    failures: list[str] = field(default_factory=list)  # what the failing step said

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics) and self.failed_task is None


def run_batch(options: RunOptions, env_name: str, input_uri: str | None = None) -> BatchRunResult:
    """Validate the spec, compile environment `env_name`'s batch pipeline and run it locally.

    Raises UsageError for an environment that does not score in batch or a bad --input,
    LocalRunError when no local training run has published that environment's version yet.
    """
    from compiler.api import validate

    check_options(options)
    given = None if input_uri is None else _given_input(input_uri)
    checked = validate([options.spec], options.platform)
    if not checked.ok or not checked.specs:
        shown = checked.specs[0].path if checked.specs else str(options.spec)
        return BatchRunResult(shown, checked.diagnostics, env_name)
    validated = checked.specs[0]
    assert validated.spec is not None and validated.loaded is not None  # checked.ok
    plan = local_plan(validated)
    env, batch = batch_environment(validated.path, plan, env_name)
    out_dir = run_dir(options, validated.spec)
    arguments = _arguments(validated, options, plan, env, given or batch.input.uri)
    check_packages(validated, {**model_modules(plan.spec), **uri_modules(arguments["input_uri"])})
    stem = f"batch-{env.name}"
    pipeline, diagnostics = compile_kubeflow(
        validated, checked.platform, options.template_dirs, stem, plan
    )
    result = BatchRunResult(
        validated.path, [*checked.diagnostics, *diagnostics], env.name, env.model_version, out_dir
    )
    if pipeline is None or has_errors(diagnostics):
        return result
    write_outputs(out_dir, pipeline)
    if options.echo is not None:  # the first lines of the log say what the lines below are
        options.echo.write(run_header(validated.path, pipeline[1].content, out_dir))
        options.echo.write(f"  scoring {arguments['input_uri']} with {arguments['model_uri']}\n")
    outcome = execute_local(pipeline[1].content, arguments, out_dir / "kfp-outputs", options.echo)
    result.output = None if outcome.output is None else str(outcome.output)
    result.failed_task, result.failures = outcome.failed_task, outcome.failures
    return result


def _arguments(
    validated: ValidatedSpec, options: RunOptions, plan: Plan, env: ResolvedEnvironment, source: str
) -> dict[str, str]:
    """The batch pipeline's parameters for a local run; the model and a local input must exist."""
    assert validated.spec is not None and validated.loaded is not None
    out_dir = run_dir(options, validated.spec)
    again = f" --out-dir {options.out_dir}" if options.out_dir is not None else ""
    model = published_model(validated.path, out_dir, plan, env, again)
    _check_input(validated.path, source, env.name)
    return {
        "data_root": str(Path(validated.path).absolute().parent),
        "input_uri": source,
        "model_uri": str(model),
        # never batch.output.uri: a local run writes to its own folder, not to shared storage
        "output_uri": f"file://{out_dir / 'predictions' / env.name}",
        "spec_sha256": validated.loaded.source.sha256,  # what the release workflow passes
    }


def batch_environment(spec: str, plan: Plan, name: str) -> tuple[ResolvedEnvironment, Batch]:
    """The effective environment `name` and its batch settings; a usage error otherwise."""
    scoring = [env.name for env in plan.environments if env.batch is not None]
    hint = (
        f"environments that score in batch: {', '.join(scoring)}"
        if scoring
        else "add batch (schedule, input, output) to an environment to score in batch"
    )
    for env in plan.environments:
        if env.name == name and env.batch is not None:
            return env, env.batch
        if env.name == name:
            problem = f"{spec}: --batch {name}: environment {name!r} has no batch scoring"
            raise UsageError(problem=problem, hint=hint)
    raise UsageError(problem=f"{spec}: --batch {name}: no environment {name!r}", hint=hint)


def published_model(
    spec: str, out_dir: Path, plan: Plan, env: ResolvedEnvironment, again: str = ""
) -> Path:
    """`<out-dir>/models/<model_version>`, which a local training run publishes, with its files."""
    folder = out_dir / "models" / env.model_version  # a Version: one plain path component
    files = [folder / name for name in ("model.joblib", "metadata.json")]
    if folder.is_dir() and not folder.is_symlink() and all(_plain_file(f) for f in files):
        return folder
    trained = plan.environments[0].model_version  # what pipeline.yaml publishes by default
    hint = f"run `specops run {spec} --local{again}` first"
    if trained != env.model_version:
        hint += (
            f"; it publishes {trained!r} (the first environment's model_version), so pin "
            f"{trained!r} in environment {env.name!r} to score with it"
        )
    raise LocalRunError(
        spec=spec,
        problem=f"environment {env.name!r} scores with model version {env.model_version!r}, "
        f"but {folder} holds no locally published model",
        hint=hint,
    )


def _plain_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _given_input(given: str) -> str:
    """--input: a local path (made absolute) or a file:// URI of an absolute path; it exists."""
    if "://" in given and not given.startswith("file://"):
        raise UsageError(
            problem=f"--input {given}: only a local path or a file:// URI",
            hint="omit --input to score the spec's batch.input.uri",
        )
    if given.startswith("file://") and not given.removeprefix("file://").startswith("/"):
        raise UsageError(problem=f"--input {given}: a file:// URI names an absolute path")
    path = Path(given.removeprefix("file://")).absolute()
    if not path.is_file():
        raise UsageError(problem=f"--input {given}: no such file ({path})")
    return given if given.startswith("file://") else str(path)


def _check_input(spec: str, uri: str, env: str) -> None:
    """A local batch.input.uri must exist before any step starts (relative: against the
    spec's folder, as the ingest step reads it with data_root)."""
    if "://" in uri and not uri.startswith("file://"):
        return  # gs://, s3://, https://: the ingest step reads it and says what went wrong
    path = Path(uri.removeprefix("file://"))
    path = path if path.is_absolute() else Path(spec).absolute().parent / path
    if not path.is_file():
        raise LocalRunError(
            spec=spec,
            problem=f"environment {env!r}: no input file to score at {path}",
            hint="pass --input PATH, or create the file batch.input.uri names",
        )


def batch_summary(result: BatchRunResult) -> str:
    """What a person reads at the end of a batch run."""
    if result.ok and result.output is not None:
        folder = Path(result.output.removeprefix("file://"))
        metadata = _metadata(folder / "metadata.json")
        rows, name = metadata.get("rows_out"), metadata.get("file")
        counted = isinstance(rows, int) and not isinstance(rows, bool)
        scored = f"{rows} row(s)" if counted else "its input"
        lines = [
            f"{result.spec}: environment {result.env!r} scored {scored} "
            f"with model version {result.model_version}"
        ]
        if isinstance(name, str) and _PREDICTIONS_FILE.match(name):
            lines.append(f"  predictions: {folder / name}")
        lines.append(f"  metadata:    {folder / 'metadata.json'}")
        return "\n".join(lines) + "\n"
    if result.failed_task is None:
        return ""
    return failure_summary(
        result.spec, result.failed_task, result.failures, "no predictions were written"
    )


def _metadata(path: Path) -> dict[str, Any]:
    """The run's metadata.json, {} when it is missing or not a JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
