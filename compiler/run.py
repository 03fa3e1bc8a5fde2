"""`specops run SPEC --local`: compile the spec's Kubeflow pipeline and run its IR with kfp.local.

The run executes the very IR `specops compile` writes, with one local adaptation: components do
not pip-install their pinned packages (kfp.local's SubprocessRunner without a venv would install
them into this environment), they use the packages installed here (`pip install 'specops[run]'`).
Relative data paths resolve against the spec's folder; the model is published into the run's
output directory instead of `deploy.model_uri`, and a spec with a registry registers it in a
sqlite MLflow store there (`registry/mlflow.db`, `pip install 'specops[run,registry]'`) instead
of its tracking URI. Container (`custom`) steps need a cluster. `--batch ENV` runs an
environment's batch-scoring pipeline instead (compiler.run_batch).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import yaml

from compiler.diagnostics import Diagnostic, has_errors
from compiler.errors import SpecopsError, UsageError

if TYPE_CHECKING:  # rendering is loaded when a run renders: validate never imports Jinja
    from compiler.api import ValidatedSpec
    from compiler.model.spec import MLPipeline
    from compiler.plan import Plan
    from compiler.platform import LoadedPlatform
    from compiler.render import RenderedFile

FAILURE_MARK = "specops-failure: "
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FAILED_TASK = re.compile(r"Inner task failed: (.+?)\.?$")
_EXCEPTION = re.compile(r"^\s*[A-Za-z_][\w.]*(Error|Exception): ")
_LOCAL_NOOPS = (
    r".*(no effect in the current local runner|is not used by the current local runner).*"
)


class LocalRunError(SpecopsError):
    """The spec cannot run locally, or the local run could not start."""

    def __init__(self, *, spec: str, problem: str, hint: str | None = None) -> None:
        super().__init__(f"{spec}: {problem}", hint=hint)


@dataclass
class RunOptions:
    spec: Path
    local: bool = True
    out_dir: Path | None = None  # default: .specops-run/<spec name>
    template_dirs: list[Path] = field(default_factory=list)
    echo: TextIO | None = None  # where kfp's task logs go while the run proceeds
    platform: Path | None = None  # a platform.yaml, as for `specops compile`


@dataclass
class RunResult:
    spec: str
    diagnostics: list[Diagnostic]
    out_dir: Path | None = None
    published: str | None = None  # where the model was published
    failed_task: str | None = None
    failures: list[str] = field(default_factory=list)  # what the failing step said

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics) and self.failed_task is None


class _Tee(io.StringIO):
    """Keeps what kfp prints (to find failure lines) and forwards it to `echo`."""

    def __init__(self, echo: TextIO | None) -> None:
        super().__init__()
        self.echo = echo

    def write(self, text: str) -> int:
        if self.echo is not None:
            self.echo.write(text)
        return super().write(text)


def run_pipeline(options: RunOptions) -> RunResult:
    """Validate, compile and run one spec's training pipeline locally.

    Raises UsageError without --local, LocalRunError for a `custom` framework; a spec problem or
    a failed step (a data check, a gate) comes back in the result.
    """
    from compiler.api import validate

    check_options(options)
    checked = validate([options.spec], options.platform)
    if not checked.ok or not checked.specs:
        shown = checked.specs[0].path if checked.specs else str(options.spec)
        return RunResult(shown, checked.diagnostics)
    validated = checked.specs[0]
    assert validated.spec is not None and validated.loaded is not None  # checked.ok
    _check_runs_locally(validated)
    check_packages(validated, required_modules(validated.spec))
    out_dir = run_dir(options, validated.spec)
    pipeline, diagnostics = compile_kubeflow(validated, checked.platform, options.template_dirs)
    result = RunResult(validated.path, [*checked.diagnostics, *diagnostics], out_dir)
    if pipeline is None or has_errors(diagnostics):
        return result
    write_outputs(out_dir, pipeline)
    arguments = {
        "data_root": str(Path(validated.path).absolute().parent),
        "model_root": str(out_dir / "models"),
        "spec_sha256": validated.loaded.source.sha256,  # what the release workflow passes
    }
    if validated.spec.registry is not None:  # never a shared registry: a store of the run's own
        arguments["registry_uri"] = local_registry_uri(out_dir)
    if options.echo is not None:  # the first line of the log says what the lines below are
        options.echo.write(run_header(validated.path, pipeline[1].content, out_dir))
    outcome = execute_local(pipeline[1].content, arguments, out_dir / "kfp-outputs", options.echo)
    result.published = None if outcome.output is None else str(outcome.output)
    result.failed_task, result.failures = outcome.failed_task, outcome.failures
    return result


def local_registry_uri(out_dir: Path) -> str:
    """The MLflow store a local run registers in and reads champions from: a sqlite database
    in the run's output directory, kept between runs like its models/ folder."""
    (out_dir / "registry").mkdir(parents=True, exist_ok=True)
    return "sqlite:///" + str((out_dir / "registry" / "mlflow.db").absolute())


def run_dir(options: RunOptions, spec: MLPipeline) -> Path:
    """Where a local run writes: --out-dir, else .specops-run/<spec name>."""
    return (options.out_dir or Path(".specops-run") / spec.metadata.name).absolute()


def check_options(options: RunOptions) -> None:
    if not options.local:
        raise UsageError(
            problem="only local runs are supported (--local)",
            hint="for a cluster, upload the compiled pipeline.yaml to Kubeflow Pipelines",
        )
    if not options.spec.is_file():
        raise UsageError(problem=f"no such spec file: {options.spec}")


def _check_runs_locally(validated: ValidatedSpec) -> None:
    assert validated.spec is not None
    if validated.spec.model.framework == "custom":
        raise LocalRunError(
            spec=validated.path,
            problem="model.framework is custom: its training step is a container, and "
            "kfp.local's SubprocessRunner runs only Python components, without Docker",
            hint="run it on a Kubeflow cluster: upload kubeflow/<spec>/pipeline.yaml from "
            "`specops compile`",
        )


# What the components import, by the pip distribution `specops[run]` installs it from.
_TABLE_MODULES = {"pandas": "pandas", "pyarrow": "pyarrow", "sklearn": "scikit-learn"}
_FRAMEWORK_MODULES = {"xgboost": {"xgboost": "xgboost"}, "lightgbm": {"lightgbm": "lightgbm"}}
_SCHEME_MODULES = {
    "gs": {"fsspec": "fsspec", "gcsfs": "gcsfs"},
    "s3": {"fsspec": "fsspec", "s3fs": "s3fs"},
}


# specops[registry]: the MLflow client, and what it opens a sqlite store with.
_REGISTRY_MODULES = {"mlflow": "mlflow-skinny", "sqlalchemy": "sqlalchemy", "alembic": "alembic"}


def model_modules(spec: MLPipeline) -> dict[str, str]:
    """module -> distribution of what reading tables and loading this spec's model imports."""
    return {**_TABLE_MODULES, **_FRAMEWORK_MODULES.get(spec.model.framework, {})}


def uri_modules(uri: str) -> dict[str, str]:
    """module -> distribution of what reading `uri` imports (gs:// and s3:// through fsspec)."""
    return dict(_SCHEME_MODULES.get(uri.split("://", 1)[0] if "://" in uri else "file", {}))


def required_modules(spec: MLPipeline) -> dict[str, str]:
    """module -> distribution of what this spec's local training run imports."""
    needed = model_modules(spec)
    for source in spec.data.sources:
        needed.update(uri_modules(source.uri))
    if spec.registry is not None:  # the register and champion steps' MLflow client
        needed.update(_REGISTRY_MODULES)
    return needed


def check_packages(validated: ValidatedSpec, needed: dict[str, str]) -> None:
    """Before any step starts: a step would fail minutes in with ModuleNotFoundError."""
    missing = sorted({dist for module, dist in needed.items() if not _has(module)})
    if missing:
        raise LocalRunError(
            spec=validated.path,
            problem=f"a local run needs {', '.join(missing)}, not installed here",
            hint=f"pip install 'specops[{','.join(_extras(missing))}]'",
        )


def _extras(missing: list[str]) -> list[str]:
    """The extras of pyproject.toml that install these distributions."""
    registry = set(_REGISTRY_MODULES.values())
    extras = ["run"] if any(dist not in registry for dist in missing) else []
    return extras + (["registry"] if registry.intersection(missing) else [])


def _has(module: str) -> bool:
    try:  # None also when sys.modules holds None for it: importing it would fail
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that is not one, a broken __spec__
        return False


def local_plan(validated: ValidatedSpec) -> Plan:
    """The plan `specops compile` renders for this (valid) spec: its effective environments."""
    from compiler.planner import build_plan

    assert validated.resolved is not None
    return build_plan(validated.resolved)


def compile_kubeflow(
    validated: ValidatedSpec,
    platform: LoadedPlatform | None,
    template_dirs: list[Path],
    stem: str = "pipeline",
    plan: Plan | None = None,
) -> tuple[tuple[RenderedFile, RenderedFile] | None, list[Diagnostic]]:
    """Render the kubeflow target for this spec; returns (<stem>.py, <stem>.yaml), the
    training pipeline by default, `batch-<env>` for an environment's batch scoring."""
    from compiler.api import layered_template_dirs
    from compiler.render import Renderer
    from compiler.targets import discover_targets, select_targets
    from compiler.verify import VerifyContext, verify_files

    dirs = layered_template_dirs(template_dirs, platform)
    targets = select_targets(discover_targets(dirs), ["kubeflow"])
    plan = plan or local_plan(validated)
    files, diagnostics = Renderer(dirs).render(plan, targets)
    diagnostics.extend(verify_files(files, VerifyContext()))
    by_path = {f.path: f for f in files}
    base = f"kubeflow/{plan.name}/{stem}"
    source, ir = by_path.get(f"{base}.py"), by_path.get(f"{base}.yaml")
    if source is None or ir is None:
        return None, diagnostics
    return (source, ir), diagnostics


def write_outputs(out_dir: Path, pipeline: tuple[RenderedFile, RenderedFile]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for file in pipeline:
        (out_dir / Path(file.path).name).write_text(file.content, encoding="utf-8")


def local_pipeline_spec(ir: str) -> dict[str, Any]:
    """The IR's PipelineSpec, without pip install steps and retries.

    kfp lays a lightweight component's command out as `sh -c <pip install ...> sh -ec
    <program>`; dropping the first three words leaves `sh -ec <program>`, which runs the
    component with the packages of this environment. Retries wait minutes between attempts
    on a cluster; a laptop run reports the first failure instead.
    """
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec: dict[str, Any] = next(iter(yaml.load_all(ir, Loader=loader)))
    for executor in spec.get("deploymentSpec", {}).get("executors", {}).values():
        command = executor.get("container", {}).get("command", [])
        if command[:2] == ["sh", "-c"] and "pip install" in command[2]:
            executor["container"]["command"] = command[3:]
    for task in spec.get("root", {}).get("dag", {}).get("tasks", {}).values():
        task.pop("retryPolicy", None)
    return spec


@dataclass(frozen=True, slots=True)
class LocalOutcome:
    output: Any  # the pipeline's return value; None when a step failed
    failed_task: str | None
    failures: list[str]  # what the failing step said (its specops-failure lines)


def execute_local(
    ir: str, arguments: dict[str, Any], pipeline_root: Path, echo: TextIO | None = None
) -> LocalOutcome:
    """Run compiled IR (either pipeline) with kfp.local's SubprocessRunner, in this environment.

    A failing step is an outcome, not an exception; its logs go to `echo` as they come.
    """
    from kfp import components, local

    pipeline = components.load_component_from_text(json.dumps(local_pipeline_spec(ir)))
    tee = _Tee(echo)
    output, failed = None, None
    with tempfile.TemporaryDirectory(prefix="specops-run-") as workspace:
        local.init(
            runner=local.SubprocessRunner(use_venv=False),
            pipeline_root=str(pipeline_root),
            workspace_root=str(Path(workspace, "kfp")),
            raise_on_error=True,
        )
        with contextlib.redirect_stdout(tee), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_LOCAL_NOOPS)
            try:
                output = pipeline(**arguments).output
            except RuntimeError as exc:
                failed = _failed_task(str(exc))
    lines = tee.getvalue().splitlines()
    failures = [line.split(FAILURE_MARK, 1)[1].strip() for line in lines if FAILURE_MARK in line]
    if failed and not failures:  # an unexpected error: its exception line says most
        failures = [line.strip() for line in lines if _EXCEPTION.match(line)][-1:]
    return LocalOutcome(output, failed, failures)


def _failed_task(message: str) -> str:
    match = _FAILED_TASK.search(_ANSI.sub("", message).strip())
    return match.group(1).strip("'") if match else "unknown"


def run_header(spec: str, ir: str, out_dir: Path) -> str:
    """What a person reads before kfp's task logs: the steps that will run and where to."""
    tasks = list(local_pipeline_spec(ir).get("root", {}).get("dag", {}).get("tasks", {}))
    return (
        f"specops run: {spec}: {len(tasks)} steps with kfp.local ({', '.join(tasks)}); "
        f"outputs in {out_dir}\n"
    )


def summary(result: RunResult) -> str:
    """What a person reads at the end of a run."""
    if result.ok:
        lines = [f"{result.spec}: trained, passed every gate and published to {result.published}"]
        metadata = Path(result.published or "", "metadata.json")
        if metadata.is_file():
            published = json.loads(metadata.read_text(encoding="utf-8"))
            metrics = published.get("metrics", {})
            lines += [f"  {name} = {value:.4f}" for name, value in sorted(metrics.items())
                      if isinstance(value, int | float)]  # fmt: skip
            lines += [f"  {gate['verdict']}" for gate in published.get("champion_gates", [])]
        return "\n".join(lines) + "\n"
    if result.failed_task is None:
        return ""
    return failure_summary(
        result.spec,
        result.failed_task,
        result.failures,
        "" if result.published else "nothing was published",
    )


def failure_summary(spec: str, failed_task: str, failures: list[str], last: str) -> str:
    """The failing step, what it said, and `last`: what the run did not do ("": nothing)."""
    lines = [f"{spec}: the local run stopped at step {failed_task!r}"]
    lines += [f"  {failure}" for failure in dict.fromkeys(failures)]
    if any("ModuleNotFoundError" in failure for failure in failures):
        lines.append("  hint: local runs use this environment's packages; pip install it here")
    lines.append(f"  {last}" if last else "")
    return "\n".join(line for line in lines if line) + "\n"
