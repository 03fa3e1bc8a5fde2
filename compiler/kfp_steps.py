"""The `kfp-compile` post-step: rendered kfp DSL (pipeline.py) -> KFP IR, in this process.

kfp's own `Compiler` does the work, exactly as `kfp dsl compile` would, but without a Python
process per spec: the module runs in a fresh namespace whose source is registered with
`linecache`, because kfp reads each lightweight component's source with `inspect.getsource`
(once per distinct component in a run: `compiler.kfp_reuse`).
kfp is imported lazily, so `specops validate` never pays for it.
"""

from __future__ import annotations

import itertools
import linecache
import sys
import traceback
import types
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from compiler.diagnostics import Diagnostic, Location, error, warning
from compiler.kfp_reuse import reusing_components
from compiler.post import post_step

if TYPE_CHECKING:
    from compiler.plan import Plan
    from compiler.render import RenderedFile

_serial = itertools.count()


class PipelineModuleError(Exception):
    """The DSL module could not be run or compiled; `line` is 1-based in the module (0: unknown)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True, slots=True)
class CompiledPipeline:
    ir: str  # the YAML kfp writes: PipelineSpec, then the PlatformSpec document if any
    warnings: tuple[str, ...]


def load_module(source: str, filename: str) -> dict[str, Any]:
    """Run DSL source in a fresh namespace; raises PipelineModuleError on any failure."""
    serial = next(_serial)
    pseudo = f"<specops {serial} {filename}>"
    linecache.cache[pseudo] = (len(source), None, source.splitlines(keepends=True), pseudo)
    # Registered while it runs so that `inspect` (which kfp calls on every resource setter)
    # maps its frames to a module at once instead of scanning sys.modules for each frame.
    module = types.ModuleType(f"_specops_kfp_{serial}")
    module.__file__ = pseudo
    sys.modules[module.__name__] = module
    try:
        code = compile(source, pseudo, "exec", dont_inherit=True)
        with reusing_components(source, pseudo):
            exec(code, module.__dict__)
    except SyntaxError as exc:
        raise PipelineModuleError(f"SyntaxError: {exc.msg}", exc.lineno or 0) from exc
    except Exception as exc:  # whatever the module raises is reported, located
        raise PipelineModuleError(f"{type(exc).__name__}: {exc}", _line_in(exc, pseudo)) from exc
    finally:
        linecache.cache.pop(pseudo, None)
        sys.modules.pop(module.__name__, None)
    return module.__dict__


def _line_in(exc: BaseException, pseudo: str) -> int:
    line = 0
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == pseudo:
            line = lineno
    return line


def find_pipeline(namespace: dict[str, Any]) -> Any:
    """The one `@dsl.pipeline` the module defines; raises PipelineModuleError otherwise."""
    from kfp.dsl.graph_component import GraphComponent

    found = [v for v in namespace.values() if isinstance(v, GraphComponent)]
    if len(found) != 1:
        raise PipelineModuleError(f"expected one @dsl.pipeline function, found {len(found)}")
    return found[0]


def compile_source(source: str, filename: str) -> CompiledPipeline:
    """Compile DSL source to IR text with kfp's compiler; raises PipelineModuleError."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        namespace = load_module(source, filename)
        pipeline = find_pipeline(namespace)
        try:
            ir = ir_text(pipeline)
        except Exception as exc:  # kfp's own validation errors, reported as they are
            raise PipelineModuleError(f"kfp could not compile: {exc}") from exc
    notes = tuple(dict.fromkeys(str(w.message) for w in caught))
    return CompiledPipeline(ir, notes)


def ir_text(pipeline: Any) -> str:
    """The IR document(s) that `Compiler().compile` writes, serialised by libyaml.

    kfp builds the PipelineSpec and PlatformSpec and its header comments exactly as its
    Compiler does; only the writer differs: kfp's pure-Python YAML emitter takes most of a
    compile, libyaml the same documents (sorted keys, one line per scalar) in a fraction of it.
    """
    import yaml
    from google.protobuf import json_format
    from kfp.compiler import pipeline_spec_builder as builder
    from kfp.dsl.types import type_utils

    with type_utils.TypeCheckManager(enable=True):
        spec = builder.modify_pipeline_spec_with_override(
            pipeline_spec=pipeline.pipeline_spec,
            pipeline_name=None,
            pipeline_parameters=None,
            pipeline_display_name=None,
        )
    documents = [json_format.MessageToDict(spec)]
    if len(pipeline.platform_spec.platforms) > 0:
        documents.append(json_format.MessageToDict(pipeline.platform_spec))
    comments = builder.extract_comments_from_pipeline_spec(documents[0], pipeline.description)
    body = yaml.dump_all(
        documents,
        Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
        sort_keys=True,
        width=_NO_WRAP,
        allow_unicode=False,
    )
    return str(comments) + body


_NO_WRAP = 2**31 - 1  # libyaml and PyYAML break long lines differently; never breaking is stable


@post_step("kfp-compile")
def kfp_compile(file: RenderedFile, plan: Plan) -> tuple[str | None, list[Diagnostic]]:
    """pipeline.py -> pipeline.yaml; problems are diagnostics located in the rendered module."""
    try:
        compiled = compile_source(file.content, file.path)
    except PipelineModuleError as exc:
        return None, [
            error(
                "KFP001",
                f"{file.path} does not compile with kfp: {exc}",
                Location(file.path, exc.line),
                hint=f"the module is rendered from {file.template} for {plan.provenance.spec_path}",
            )
        ]
    notes = [
        warning("KFP002", f"kfp warned while compiling {file.path}: {note}", Location(file.path))
        for note in compiled.warnings
    ]
    return compiled.ir, notes + _publish_warnings(file, plan)


def _publish_warnings(file: RenderedFile, plan: Plan) -> list[Diagnostic]:
    """A pipeline step cannot push to an OCI registry or an HTTP server: say so at compile time."""
    uri = plan.spec.deploy.model_uri or ""  # a plan's spec always has one (build_plan)
    scheme = uri.split("://", 1)[0]
    if not file.path.endswith("/pipeline.py") or scheme not in ("oci", "https"):
        return []
    return [
        warning(
            "KFP003",
            f"the training pipeline cannot publish to {scheme}:// ({uri}); its publish step "
            "would fail",
            Location(file.path),
            hint="publish to gs://, s3://, pvc:// or file:// (serve from there), or override "
            "the model_root parameter when you start a run",
        )
    ]
