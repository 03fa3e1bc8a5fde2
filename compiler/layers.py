"""Template layers stay inside their directory: a symlink may not lead out of its layer.

A layer is trusted code, but a checkout of it is not always what its owners wrote: a symlink
committed beside the templates (`pipeline.py.j2 -> /etc/passwd`, `components -> ~/.ssh`) would
make every compile read a file outside the layer and copy it into generated output. Links that
stay inside the layer (one template shared by two targets) are allowed.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment

from compiler.errors import TemplateError


def escaping_links(root: Path) -> list[tuple[Path, Path]]:
    """Every symlink below `root` (links not followed) whose target is outside `root`."""
    base = root.resolve()
    found: list[tuple[Path, Path]] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in sorted([*dirs, *files]):
            path = Path(folder, name)
            if path.is_symlink() and not is_inside(path.resolve(), base):
                found.append((path, path.resolve()))
    return found


def check_layer(root: Path) -> None:
    """Raises TemplateError naming the first symlink that leaves the layer `root`."""
    if root.is_symlink() and not root.is_dir():
        raise TemplateError(template=str(root), problem="template directory is a dangling link")
    for link, points_to in escaping_links(root):
        raise TemplateError(
            template=str(link),
            problem=f"symlink leaves its template directory {root} (points to {points_to})",
        )


def is_inside(path: Path, base: Path) -> bool:
    return path == base or base in path.parents


class ConfinedLoader(jinja2.FileSystemLoader):
    """A FileSystemLoader that refuses a template whose real path is outside its search path.

    `check_layer` refuses such links up front; this also covers a link created after it ran.
    """

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        # Checked before jinja opens the file: a link to a FIFO or /dev/zero must not be read.
        pieces = split_template_path(template)
        for layer in self.searchpath:
            candidate = Path(posixpath.join(layer, *pieces))
            if candidate.is_file():
                if not is_inside(candidate.resolve(), Path(layer).resolve()):
                    raise TemplateError(
                        template=str(candidate),
                        problem=f"symlink leaves its template directory {layer} "
                        f"(points to {candidate.resolve()})",
                    )
                break
        return super().get_source(environment, template)


class ReadingEnvironment(ImmutableSandboxedEnvironment):
    """The renderer's sandbox, recording the name of each template it loads while `reading`
    is a set (cached templates too): what the incremental build keys a spec's files on."""

    reading: set[str] | None = None

    def _load_template(
        self, name: str, globals: MutableMapping[str, Any] | None
    ) -> jinja2.Template:
        if self.reading is not None:
            self.reading.add(name)
        return super()._load_template(name, globals)
