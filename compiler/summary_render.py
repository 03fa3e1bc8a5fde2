"""A `Summary` as Markdown (a pull request comment, a job summary) or as JSON.

Every value in the Markdown went through the `md` filter: a spec could name a parameter, a
data source or a URI that would otherwise form a link, an image, HTML or a table.
"""

from __future__ import annotations

import json
from typing import Any

from compiler.filters import to_markdown
from compiler.summary import Change, EnvironmentSummary, SpecSummary, Summary

# GitHub refuses a comment over 65,536 characters; leave room for the workflow's marker.
MAX_MARKDOWN_CHARS = 60_000
SCHEMA_VERSION = 1


def _md(value: object) -> str:
    return str(to_markdown(value))


INLINE_CHANGES = 4  # up to this many changes share one line; more get a line each


def _scope(scope: str, changes: tuple[Change, ...]) -> list[str]:
    if len(changes) <= INLINE_CHANGES:
        return [f"- **{scope}**: " + "; ".join(_md(c.text) for c in changes)]
    return [f"- **{scope}**:", *(f"  - {_md(c.text)}" for c in changes)]


def _environment_lines(env: EnvironmentSummary) -> list[str]:
    return _scope(_md(env.name), env.changes)


def _spec_lines(spec: SpecSummary) -> list[str]:
    where = _md(spec.path)
    if spec.base_path and spec.base_path != spec.path:
        where = f"{_md(spec.base_path)} → {where}"
    lines = [f"#### {_md(spec.name)} ({spec.status})", "", f"Spec: {where}", ""]
    if spec.note:
        lines += [f"> {_md(spec.note)}", ""]
    if spec.changes:
        scope = "spec" if spec.status in ("new", "removed") else "all environments"
        lines += _scope(scope, spec.changes)
    for env in spec.environments:
        lines += _environment_lines(env)
    return [*lines, ""]


def to_markdown_summary(summary: Summary) -> str:
    """The summary as Markdown: one section per changed spec, unchanged ones listed at the end."""
    lines = [f"### specops: what this change does ({_base_title(summary)})", ""]
    changed = [s for s in summary.specs if s.status != "unchanged"]
    unchanged = [s for s in summary.specs if s.status == "unchanged"]
    if not changed:
        lines += ["No changes: every spec resolves to the same plan as the base.", ""]
    for spec in changed:
        lines += _spec_lines(spec)
    if unchanged and changed:
        lines += ["Unchanged: " + ", ".join(_md(s.name) for s in unchanged), ""]
    lines += [f"- note: {_md(note)}" for note in summary.notes]
    return _capped("\n".join(lines).rstrip("\n") + "\n")


def _base_title(summary: Summary) -> str:
    if summary.folder is not None:
        return f"base: the output folder {_md(summary.folder)}"
    return f"base {_md(summary.base)} at {(summary.commit or '')[:12]}"


def _capped(text: str) -> str:
    if len(text) <= MAX_MARKDOWN_CHARS:
        return text
    cut = text.rfind("\n", 0, MAX_MARKDOWN_CHARS)
    return (
        text[: cut + 1]
        + "\n… truncated: run `specops diff --summary --format json` for every change.\n"
    )


def _change(change: Change) -> dict[str, Any]:
    return {"key": change.key, "text": change.text, "before": change.before, "after": change.after}


def _spec(spec: SpecSummary) -> dict[str, Any]:
    return {
        "name": spec.name,
        "path": spec.path,
        "base_path": spec.base_path,
        "status": spec.status,
        "note": spec.note,
        "changes": [_change(c) for c in spec.changes],
        "environments": [
            {"name": e.name, "status": e.status, "changes": [_change(c) for c in e.changes]}
            for e in spec.environments
        ],
    }


def _json_base(summary: Summary) -> dict[str, str | None]:
    if summary.folder is not None:
        return {"folder": summary.folder}
    return {"ref": summary.base, "commit": summary.commit}


def to_json_summary(summary: Summary) -> str:
    """The summary as a JSON document (stable key order, one trailing newline)."""
    document = {
        "schema_version": SCHEMA_VERSION,
        "base": _json_base(summary),
        "changed": summary.changed,
        "specs": [_spec(s) for s in summary.specs],
        "notes": summary.notes,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
