"""The Kubeflow target: real kfp IR, strictly parsed, deterministic, and safe from spec text."""

from __future__ import annotations

import ast
import copy
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import json_format
from kfp.kubernetes import kubernetes_executor_config_pb2
from kfp.pipeline_spec import pipeline_spec_pb2

from compiler.api import CompileOptions, CompileResult, compile_specs
from compiler.filters import to_k8s_literal
from compiler.plan import Defaults
from compiler.run import local_pipeline_spec

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "specs"
EXPECTED = {
    "churn-classifier": ["pipeline.py", "pipeline.yaml", "monitoring.py", "monitoring.yaml"],
    "demand-forecast": [  # prod also scores nightly in batch
        *("pipeline.py", "pipeline.yaml", "monitoring.py", "monitoring.yaml"),
        *("batch-prod.py", "batch-prod.yaml"),
    ],
    "vision-defects": ["pipeline.py", "pipeline.yaml"],
}


def _compile(paths: list[Path], out: Path) -> CompileResult:
    result = compile_specs(CompileOptions(paths=paths, out_dir=out, targets=["kubeflow"]))
    assert result.ok, [f"{d.code} {d.location}: {d.message}" for d in result.diagnostics]
    return result


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kubeflow")
    result = _compile([SPECS], out)
    assert not [d for d in result.diagnostics if d.code == "KFP002"], "kfp warned"
    return out / "kubeflow"


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def _irs(root: Path) -> list[Path]:
    return sorted(root.glob("*/*.yaml"))


def test_every_spec_gets_its_pipeline_files(compiled: Path) -> None:
    for spec, names in EXPECTED.items():
        assert sorted(p.name for p in (compiled / spec).iterdir()) == sorted(names)


def test_every_ir_parses_strictly_as_pipeline_and_platform_spec(compiled: Path) -> None:
    platforms = 0
    for path in _irs(compiled):
        documents = _documents(path)
        assert 1 <= len(documents) <= 2, path
        json_format.ParseDict(documents[0], pipeline_spec_pb2.PipelineSpec())
        if len(documents) == 2:
            platforms += 1
            json_format.ParseDict(documents[1], pipeline_spec_pb2.PlatformSpec())
            executors = documents[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
            for config in executors.values():
                json_format.ParseDict(
                    config, kubernetes_executor_config_pb2.KubernetesExecutorConfig()
                )
    assert platforms >= 2  # churn (timeout) and vision-defects (GPU, secrets, tolerations)


def test_compiling_twice_gives_the_same_bytes(compiled: Path, tmp_path: Path) -> None:
    _compile([SPECS], tmp_path)
    for path in sorted(compiled.rglob("*")):
        if path.is_file():
            again = tmp_path / "kubeflow" / path.relative_to(compiled)
            assert again.read_bytes() == path.read_bytes(), path


def test_ir_is_what_the_kfp_cli_compiles_from_pipeline_py(compiled: Path, tmp_path: Path) -> None:
    source = compiled / "churn-classifier" / "pipeline.py"
    cli_ir = tmp_path / "cli.yaml"
    subprocess.run(
        [sys.executable, "-c", "from kfp.cli.__main__ import main; main()", "dsl", "compile",
         "--py", str(source),
         "--output", str(cli_ir)],
        check=True, capture_output=True,
    )  # fmt: skip
    ours = (compiled / "churn-classifier" / "pipeline.yaml").read_text(encoding="utf-8")
    theirs = cli_ir.read_text(encoding="utf-8")
    # Same documents and the same kfp header comments; only the YAML writer differs (libyaml).
    assert list(yaml.safe_load_all(ours)) == list(yaml.safe_load_all(theirs))
    comments = [line for line in ours.splitlines()[2:] if line.startswith("#")]
    assert comments == [line for line in theirs.splitlines() if line.startswith("#")]


def _executors(ir: Path) -> dict[str, Any]:
    executors: dict[str, Any] = _documents(ir)[0]["deploymentSpec"]["executors"]
    return executors


def test_every_image_is_explicit_and_every_package_pinned(compiled: Path) -> None:
    defaults = Defaults()
    for ir in _irs(compiled):
        for name, executor in _executors(ir).items():
            container = executor["container"]
            if name == "exec-train-custom":
                assert container["image"].startswith("registry.acme.io/vision/weld-trainer@")
                continue
            assert container["image"] == defaults.kfp_base_image, (ir, name)
            installs = container["command"][2].split("pip install")[1:]
            packages = [w.strip("'") for part in installs for w in part.split() if "==" in w]
            assert packages, (ir, name)
            assert set(packages) - {"kfp==2.17.3"} <= set(defaults.kfp_packages.values()) | {
                p for p in packages if p.startswith("kfp==")
            }


def test_training_step_carries_the_specs_kubernetes_settings(compiled: Path) -> None:
    ir = compiled / "vision-defects" / "pipeline.yaml"
    train = _executors(ir)["exec-train-custom"]["container"]
    assert train["command"] == ["python", "-m", "weld.train"]
    assert train["args"][:4] == ["--epochs", "20", "--backbone", "resnet50"]
    resources = train["resources"]
    assert resources["cpuLimit"] == 8.0 and resources["resourceMemoryLimit"] == "32Gi"
    assert resources["accelerator"]["resourceType"] == "nvidia.com/gpu"
    assert resources["accelerator"]["resourceCount"] == "1"
    platform = _documents(ir)[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    config = platform["exec-train-custom"]
    assert config["activeDeadlineSeconds"] == "21600"
    wandb = [s for s in config["secretAsEnv"] if s["secretName"] == "wandb-credentials"]
    assert wandb[0]["keyToEnv"] == [{"secretKey": "api-key", "envVar": "WANDB_API_KEY"}]
    assert config["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert config["nodeSelector"]["labels"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    tasks = _documents(ir)[0]["root"]["dag"]["tasks"]
    assert tasks["train-custom"]["retryPolicy"]["maxRetryCount"] == 2
    assert tasks["train-custom"]["cachingOptions"] == {}  # caching: false
    assert tasks["publish-model"]["cachingOptions"] == {}


def test_gates_run_before_publish(compiled: Path) -> None:
    tasks = _documents(compiled / "churn-classifier" / "pipeline.yaml")[0]["root"]["dag"]["tasks"]
    after = set(tasks["publish-model"]["dependentTasks"])
    assert {"check-metric", "check-metric-2", "check-latency"} <= after
    gate = tasks["check-metric"]["inputs"]["parameters"]
    assert gate["value"]["taskOutputParameter"] == {
        "outputParameterKey": "roc_auc",
        "producerTask": "evaluate-classifier",
    }


def test_local_adaptation_drops_pip_installs_and_retries(compiled: Path) -> None:
    ir = (compiled / "churn-classifier" / "pipeline.yaml").read_text(encoding="utf-8")
    spec = local_pipeline_spec(ir)
    for executor in spec["deploymentSpec"]["executors"].values():
        command = executor["container"]["command"]
        assert command[:2] == ["sh", "-ec"] and "pip install" not in " ".join(command)
    assert all("retryPolicy" not in t for t in spec["root"]["dag"]["tasks"].values())
    json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())


# --- hostile spec text -----------------------------------------------------------------------

HOSTILE = '\'; import os; os.system("id") #""" \'\'\' \\ {{ 7*7 }} {% if x %} $(id) `id` \u2603'


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((SPECS / name).read_text(encoding="utf-8"))
    return data


def _builtin_variant(text: str) -> dict[str, Any]:
    spec = _load("churn-classifier.yaml")
    spec["metadata"]["description"] = f"description {text}"
    spec["data"]["sources"][0]["uri"] = f"https://data.example.com/a'b\"c/{{{{{text[:1]}}}}}.csv"
    spec["data"]["schema"]["columns"][3]["allowed"] = ["basic", f"allowed {text}"]
    # catalogued parameter names (the estimator catalog refuses others) whose declared types
    # take any text: scoring a string, categorical_features an array-like (CHK020)
    spec["model"]["estimator"] = "sklearn.ensemble.HistGradientBoostingClassifier"
    spec["model"]["params"] = {
        "scoring": f"param {text}",
        "categorical_features": [f"list {text}", 3],
    }
    spec["code"]["repository"] = "https://github.com/acme/churn'\"{{x}}"
    spec["deploy"]["model_uri"] = "gs://acme-models/churn'\"{{x}}"
    return spec


def _custom_variant(text: str) -> dict[str, Any]:
    spec = _load("vision-defects.yaml")
    spec["metadata"]["description"] = f"description {text}"
    spec["model"]["command"] = ["python", f"command {text}"]
    spec["model"]["args"] = [f"arg {text}", "--flag"]
    return spec


def _render(spec: dict[str, Any], folder: Path) -> str:
    folder.mkdir(parents=True)
    (folder / "data").mkdir()
    (folder / "data" / "churn.csv").write_bytes((SPECS / "data" / "churn.csv").read_bytes())
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    _compile([folder / "spec.yaml"], folder / "out")
    name = spec["metadata"]["name"]
    return (folder / "out" / "kubeflow" / name / "pipeline.py").read_text(encoding="utf-8")


class _Blank(ast.NodeTransformer):
    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        return ast.Constant(value=None)


def _shape(module: ast.Module) -> str:
    return ast.dump(_Blank().visit(copy.deepcopy(module)))


def _strings(module: ast.Module) -> set[str]:
    return {
        n.value
        for n in ast.walk(module)
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


@pytest.mark.parametrize("variant", [_builtin_variant, _custom_variant])
def test_hostile_text_stays_constant_data(variant: Any, tmp_path: Path) -> None:
    hostile_spec = variant(HOSTILE)
    hostile = ast.parse(_render(hostile_spec, tmp_path / "hostile"))
    benign = ast.parse(_render(variant("plain words"), tmp_path / "benign"))
    assert _shape(hostile) == _shape(benign)  # only constants differ
    constants = _strings(hostile)
    expected = [
        s for s in _leaf_strings(hostile_spec) if HOSTILE in s or "'\"" in s or "os.system" in s
    ]
    # The description is the model card's alone: the pipeline does not change with it.
    description = hostile_spec["metadata"]["description"]
    assert not any(description in c for c in constants)
    expected.remove(description)
    assert len(expected) >= 2
    for text in expected:
        # A command's `$` is written as `$$` for Kubernetes (tests/security/test_k8s_expansion.py).
        forms = {text, to_k8s_literal(text)}
        assert any(form in c for form in forms for c in constants), text


def _leaf_strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _leaf_strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _leaf_strings(v)]
    return []


def test_the_spec_hash_is_a_pipeline_parameter_not_a_constant(compiled: Path) -> None:
    """A constant would change the pipeline with every edit of the spec; the release workflow
    and `specops run` fill the parameter with the hash of the spec they submit."""
    source = (compiled / "churn-classifier" / "pipeline.py").read_text(encoding="utf-8")
    digest = hashlib.sha256((SPECS / "churn-classifier.yaml").read_bytes()).hexdigest()
    assert digest not in source
    assert '    spec_sha256: str = "",\n' in source
    ir = yaml.safe_load_all((compiled / "churn-classifier" / "pipeline.yaml").read_text())
    parameters = next(iter(ir))["root"]["inputDefinitions"]["parameters"]
    assert parameters["spec_sha256"]["defaultValue"] == ""
    assert parameters["spec_path"]["defaultValue"] == "specs/churn-classifier.yaml"


def _variant_dir(tmp_path: Path, change: Any) -> Path:
    spec = _load("churn-classifier.yaml")
    change(spec)
    (tmp_path / "data").mkdir(parents=True)
    (tmp_path / "data" / "churn.csv").write_bytes((SPECS / "data" / "churn.csv").read_bytes())
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return tmp_path / "spec.yaml"


def test_a_pvc_model_uri_mounts_the_claim_where_models_are_read_and_written(
    tmp_path: Path,
) -> None:
    spec = _variant_dir(tmp_path, lambda s: s["deploy"].update(model_uri="pvc://models/churn"))
    _compile([spec], tmp_path / "out")
    mount = [{"mountPath": "/specops/pvc/models", "pvcNameParameter": _constant("models")}]
    for name, executor in (("pipeline", "exec-publish-model"), ("monitoring", "exec-detect-drift")):
        ir = tmp_path / "out" / "kubeflow" / "churn-classifier" / f"{name}.yaml"
        config = _documents(ir)[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
        assert [
            {k: v for k, v in m.items() if k in ("mountPath", "pvcNameParameter")}
            for m in config[executor]["pvcMount"]
        ] == mount


def _constant(value: str) -> dict[str, Any]:
    return {"runtimeValue": {"constant": value}}


def test_an_unpublishable_model_uri_is_a_compile_time_warning(tmp_path: Path) -> None:
    spec = _variant_dir(
        tmp_path, lambda s: s["deploy"].update(model_uri="oci://registry.example.com/m")
    )
    result = _compile([spec], tmp_path / "out")
    [note] = [d for d in result.diagnostics if d.code == "KFP003"]
    assert "cannot publish to oci://" in note.message


# What only a compile needs: kfp (and the protobuf and Kubernetes clients it pulls in), Jinja, the
# renderer and kfp post-step, the target definitions and every verifier.
COMPILE_ONLY = ("kfp", "kubernetes", "google.protobuf", "jinja2", "compiler.render")
COMPILE_ONLY += ("compiler.kfp_steps", "compiler.kfp_reuse", "compiler.targets", "compiler.verify")


@pytest.mark.parametrize("entry", ["library", "cli"])
def test_validate_never_imports_kfp_jinja_or_a_verifier(entry: str) -> None:
    call = {
        "library": "from compiler.api import validate; assert validate([Path('specs')]).ok",
        "cli": "from compiler.cli import run; assert run(['validate', 'specs/']) == 0",
    }[entry]
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        f"{call}\n"
        f"names = {COMPILE_ONLY!r}\n"
        "print(sorted(m for m in sys.modules if m.startswith(tuple(n + '.' for n in names))"
        " or m in names))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
