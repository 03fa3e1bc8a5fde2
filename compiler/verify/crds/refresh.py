"""Regenerate the shipped CRD schemas from their pinned upstream files.

    python -m compiler.verify.crds.refresh                  # exit 1 if the package data is stale
    python -m compiler.verify.crds.refresh --write          # download each pinned file, rewrite
    python -m compiler.verify.crds.refresh --write --from DIR   # read local copies instead

Each pin in PINS names a CRD file in a GitHub project at a commit; it is read from
raw.githubusercontent.com at that commit, or with `--from DIR` from `DIR/<file name>` (the last
part of its path, or `<group>_<plural>.yaml` as `kubectl`-style dumps name it). Its sha256 must
be the one index.json records for that commit: a file that changed under a pinned commit is
refused. To move a pin, change its commit in PINS and run `--write`: the new file's sha256 is
recorded, and the diff of index.json and NOTICE.md shows the move for review.

From each file the `openAPIV3Schema` of every served version is kept unchanged and written as
gzip-compressed canonical JSON; index.json and NOTICE.md are rewritten from the pins. The same
inputs give the same bytes. The licence texts under LICENSES/ are committed by hand: a pin whose
licence has no text there is refused. The compiler never imports this module.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from compiler.verify.crds import (
    DATA_DIR,
    FORMAT,
    INDEX_NAME,
    BuiltinCrd,
    BuiltinDataError,
    decode_data,
    encode_data,
    read_index,
    render_json,
)
from compiler.verify.documents import load_documents

DESCRIPTION = "Regenerate the shipped CRD schemas from their pinned upstream files."
GENERATED_BY = "python -m compiler.verify.crds.refresh --write"
NOTICE_NAME = "NOTICE.md"
LICENSE_FILES = {"Apache-2.0": "LICENSES/Apache-2.0.txt"}
MAX_SOURCE_BYTES = 32 * 1024 * 1024
RAW_URL = "https://raw.githubusercontent.com/{project}/{commit}/{path}"


@dataclass(frozen=True, slots=True)
class Pin:
    """One upstream CRD file at one commit, and the kind it must define."""

    group: str
    kind: str
    plural: str
    project: str  # owner/name on GitHub
    path: str  # the CRD file inside that project
    commit: str
    license: str = "Apache-2.0"  # SPDX identifier of the project's licence

    @property
    def url(self) -> str:
        return RAW_URL.format(project=self.project, commit=self.commit, path=self.path)

    @property
    def data(self) -> str:
        return f"{self.group}_{self.plural}.json.gz"


PINS: tuple[Pin, ...] = (
    Pin("argoproj.io", "Application", "applications", "argoproj/argo-cd",
        "manifests/crds/application-crd.yaml", "37ee0097cf851bc2dd7665fc081bbce61a7e836e"),
    Pin("monitoring.coreos.com", "PrometheusRule", "prometheusrules",
        "prometheus-operator/prometheus-operator",
        "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
        "6adcebc5076c34f4f55f8f5f7b1e528929373ac7"),
    Pin("serving.kserve.io", "InferenceService", "inferenceservices", "kserve/kserve",
        "config/crd/full/serving.kserve.io_inferenceservices.yaml",
        "aaac4e294dae2c7b1aa1886447793f3aa1c30912"),
)  # fmt: skip


class RefreshError(Exception):
    """A pin that cannot be read, or whose file is not what was pinned."""


@dataclass
class Generated:
    """Everything refresh writes: file name -> bytes, and what it says about each pin."""

    files: dict[str, bytes]
    data_sha256: dict[str, str]  # data file name -> sha256 of its JSON
    report: list[str]


# --- reading a pin ----------------------------------------------------------------------------


def fetch(pin: Pin, source_dir: Path | None) -> bytes:
    """The pinned file's bytes: downloaded, or the local copy under source_dir."""
    if source_dir is not None:
        return _local_copy(pin, source_dir)
    try:
        with urllib.request.urlopen(pin.url, timeout=60) as response:
            blob: bytes = response.read(MAX_SOURCE_BYTES + 1)
    except (urllib.error.URLError, OSError) as exc:
        raise RefreshError(f"cannot download {pin.url}: {exc}; pass --from DIR") from exc
    return _bounded(pin.url, blob)


def _local_copy(pin: Pin, source_dir: Path) -> bytes:
    names = dict.fromkeys([pin.path.rsplit("/", 1)[-1], f"{pin.group}_{pin.plural}.yaml"])
    for name in names:
        file = source_dir / name
        if file.is_file():
            try:
                with file.open("rb") as stream:
                    return _bounded(str(file), stream.read(MAX_SOURCE_BYTES + 1))
            except OSError as exc:
                raise RefreshError(f"cannot read {file}: {exc}") from exc
    looked = " or ".join(str(source_dir / n) for n in names)
    raise RefreshError(f"no local copy of {pin.project}/{pin.path}: looked for {looked}")


def _bounded(where: str, blob: bytes) -> bytes:
    if len(blob) > MAX_SOURCE_BYTES:
        raise RefreshError(f"{where} is larger than {MAX_SOURCE_BYTES} bytes")
    return blob


def extract(pin: Pin, blob: bytes) -> dict[str, Any]:
    """Served version -> openAPIV3Schema (or None) of the one CRD in the file for pin's kind."""
    try:
        documents = load_documents(blob.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RefreshError(f"{pin.url}: not a YAML file: {exc}") from exc
    found = [d for d in documents if _defines(d, pin)]
    if len(found) != 1:
        raise RefreshError(
            f"{pin.url}: {len(found)} apiextensions.k8s.io/v1 CustomResourceDefinitions "
            f"for {pin.kind} in group {pin.group}, expected 1"
        )
    versions = {
        str(version["name"]): (version.get("schema") or {}).get("openAPIV3Schema")
        for version in found[0]["spec"].get("versions") or ()
        if isinstance(version, dict) and "name" in version and version.get("served", True)
    }
    if not versions:
        raise RefreshError(f"{pin.url}: the CRD serves no version")
    return versions


def _defines(document: Any, pin: Pin) -> bool:
    if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
        return False
    spec = document.get("spec")
    names = spec.get("names") if isinstance(spec, dict) else None
    return (
        document.get("apiVersion") == "apiextensions.k8s.io/v1"
        and isinstance(names, dict)
        and spec.get("group") == pin.group  # type: ignore[union-attr]
        and names.get("kind") == pin.kind
    )


def checked_sha256(pin: Pin, blob: bytes, recorded: BuiltinCrd | None) -> tuple[str, str]:
    """The file's sha256 and what it means: the recorded one, or a new pin's."""
    digest = hashlib.sha256(blob).hexdigest()
    same_pin = recorded is not None and (recorded.project, recorded.path, recorded.commit) == (
        pin.project, pin.path, pin.commit,
    )  # fmt: skip
    if not same_pin:
        return digest, f"pinned to {pin.project}@{pin.commit[:12]}: recorded sha256 {digest}"
    assert recorded is not None
    if digest != recorded.source_sha256:
        raise RefreshError(
            f"{pin.url}: sha256 {digest} is not the {recorded.source_sha256} recorded for "
            f"commit {pin.commit}; the file is not the pinned one"
        )
    return digest, f"{pin.project}@{pin.commit[:12]}: sha256 matches"


# --- generating -------------------------------------------------------------------------------


def generate(pins: Sequence[Pin], out_dir: Path, source_dir: Path | None) -> Generated:
    """Every file refresh writes, from the pins (read and checked) and the index under out_dir."""
    recorded = {(e.group, e.kind): e for e in _recorded(out_dir)}
    generated = Generated({}, {}, [])
    entries: list[BuiltinCrd] = []
    for pin in sorted(pins, key=lambda p: (p.group, p.kind)):
        if any((e.group, e.kind) == (pin.group, pin.kind) for e in entries):
            raise RefreshError(f"{pin.group}/{pin.kind} is pinned twice")
        entries.append(_entry(pin, out_dir, source_dir, recorded, generated))
    index = {"format": FORMAT, "generated_by": GENERATED_BY, "crds": [e.to_json() for e in entries]}
    generated.files[INDEX_NAME] = render_json(index, indent=1)
    generated.files[NOTICE_NAME] = notice(entries).encode("utf-8")
    return generated


def _entry(
    pin: Pin,
    out_dir: Path,
    source_dir: Path | None,
    recorded: dict[tuple[str, str], BuiltinCrd],
    generated: Generated,
) -> BuiltinCrd:
    """One pin read, checked and encoded into generated; its index entry."""
    license_file = LICENSE_FILES.get(pin.license)
    if license_file is None or not (out_dir / license_file).is_file():
        raise RefreshError(f"{pin.kind}: no licence text for {pin.license} under {out_dir}")
    blob = fetch(pin, source_dir)
    source_sha256, said = checked_sha256(pin, blob, recorded.get((pin.group, pin.kind)))
    versions = extract(pin, blob)
    data, data_sha256 = encode_data(versions)
    generated.files[pin.data], generated.data_sha256[pin.data] = data, data_sha256
    generated.report.append(f"{pin.group}/{pin.kind} {', '.join(versions)}: {said}")
    return BuiltinCrd(
        group=pin.group, kind=pin.kind, plural=pin.plural, versions=tuple(versions),
        project=pin.project, path=pin.path, commit=pin.commit, url=pin.url,
        source_sha256=source_sha256, license=pin.license, license_file=license_file,
        data=pin.data, data_sha256=data_sha256,
    )  # fmt: skip


def _recorded(out_dir: Path) -> tuple[BuiltinCrd, ...]:
    try:
        return read_index(out_dir)
    except BuiltinDataError:
        return ()  # no index yet, or a broken one: every pin is new


def notice(entries: Sequence[BuiltinCrd]) -> str:
    """NOTICE.md: what was taken from where, under which licence."""
    rows = "".join(
        f"| {e.kind} ({e.group}) | {', '.join(e.versions)} | [{e.project}]"
        f"(https://github.com/{e.project}) | `{e.path}` | `{e.commit}` | `{e.source_sha256}` "
        f"| {e.license}, [{e.license_file}]({e.license_file}) |\n"
        for e in entries
    )
    return (
        "# Third-party CRD schemas shipped with specops\n\n"
        "specops verifies the custom resources it generates against the `openAPIV3Schema` of\n"
        "their CustomResourceDefinitions. The files in this directory hold those schemas, one\n"
        "per served version, extracted from the upstream CRD files below and stored as\n"
        "compressed JSON; the schemas themselves are not changed. The rest of each CRD file is\n"
        "not shipped. Copyright in each schema belongs to the authors of its project, and each\n"
        "is used under that project's licence, whose text is in the file named.\n\n"
        f"Generated by `{GENERATED_BY}`; do not edit.\n\n"
        "| kind | versions | project | file | commit | sha256 of the file | licence |\n"
        "|---|---|---|---|---|---|---|\n" + rows
    )


def stale(generated: Generated, out_dir: Path) -> list[str]:
    """The files under out_dir that generated would change."""
    changed = [
        name
        for name, content in generated.files.items()
        if name not in generated.data_sha256 and _read(out_dir / name) != content
    ]
    for name, digest in generated.data_sha256.items():
        try:
            decode_data(_read(out_dir / name) or b"", digest)
        except (BuiltinDataError, ValueError):
            changed.append(name)
    changed += [p.name for p in _data_files(out_dir) if p.name not in generated.files]
    return sorted(changed)


def write(generated: Generated, out_dir: Path) -> list[str]:
    """Write what changed (a data file whose JSON is the same is kept as it is); drop the rest."""
    changed = stale(generated, out_dir)
    for name in changed:
        target = out_dir / name
        if name not in generated.files:
            target.unlink()
            continue
        partial = target.with_name(f".{name}.partial")
        partial.write_bytes(generated.files[name])
        os.replace(partial, target)
    return changed


def _read(file: Path) -> bytes | None:
    try:
        return file.read_bytes()
    except OSError:
        return None


def _data_files(out_dir: Path) -> list[Path]:
    return sorted(out_dir.glob("*.json.gz"))


def main(
    argv: Sequence[str] | None = None, pins: Sequence[Pin] = PINS, out_dir: Path = DATA_DIR
) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m compiler.verify.crds.refresh", description=DESCRIPTION
    )
    parser.add_argument("--write", action="store_true", help="rewrite the package data")
    parser.add_argument(
        "--from", dest="source", type=Path, metavar="DIR",
        help="read the pinned files from DIR instead of downloading them",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        generated = generate(pins, out_dir, args.source)
    except RefreshError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(generated.report))
    changed = write(generated, out_dir) if args.write else stale(generated, out_dir)
    for name in changed:
        print(f"{'wrote' if args.write else 'stale'}: {out_dir / name}")
    if changed and not args.write:
        print(f"the shipped CRD data is out of date; run {GENERATED_BY}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
