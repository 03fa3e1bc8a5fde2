"""Reporters: diagnostics as text for people, JSON, GitHub workflow commands, or SARIF 2.1.0."""

from __future__ import annotations

import json
import re
from typing import Any, Protocol

from compiler._version import __version__
from compiler.codes import describe
from compiler.diagnostics import Diagnostic, Location, Severity


class Reporter(Protocol):
    def render(self, diagnostics: list[Diagnostic], checked: int) -> str: ...


def _summary(diagnostics: list[Diagnostic], checked: int) -> str:
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    warnings = sum(d.severity is Severity.WARNING for d in diagnostics)
    noun = "spec" if checked == 1 else "specs"
    if not errors and not warnings:
        return f"{checked} {noun} valid"
    return f"{checked} {noun} checked: {errors} error(s), {warnings} warning(s)"


# Paths, messages and hints carry spec text. On a terminal or in a CI log, control characters
# (ESC sequences, CR, line breaks) and bidirectional overrides could forge or hide lines, so they
# are shown as escapes; the JSON formats escape them already (ensure_ascii).
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def _visible(text: str) -> str:
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def _line_start(text: str) -> str:
    # A log line starting with `::` is a GitHub workflow command, whatever the format.
    return "\\u003a" + text[1:] if text.startswith("::") else text


class TextReporter:
    def render(self, diagnostics: list[Diagnostic], checked: int) -> str:
        lines = []
        for d in diagnostics:
            where = _line_start(_visible(str(d.location)))
            lines.append(f"{where}: {d.severity.value} {d.code}: {_visible(d.message)}")
            if d.location.json_path:
                lines.append(f"    at {_visible(d.location.path_text)}")
            if d.hint:
                lines.append(f"    hint: {_visible(d.hint)}")
        lines.append(_summary(diagnostics, checked))
        return "\n".join(lines) + "\n"


def _counts(diagnostics: list[Diagnostic]) -> dict[str, int]:
    return {s.value + "s": sum(d.severity is s for d in diagnostics) for s in Severity}


def _json_location(location: Location) -> dict[str, Any]:
    return {
        "file": location.file,
        "line": location.line,
        "column": location.column,
        "json_path": location.path_text,
    }


class JsonReporter:
    """One document: the counts of each severity, then every diagnostic with its locations."""

    def render(self, diagnostics: list[Diagnostic], checked: int) -> str:
        document = {
            "checked": checked,
            **_counts(diagnostics),
            "diagnostics": [
                {
                    "code": d.code,
                    "severity": d.severity.value,
                    "message": d.message,
                    "hint": d.hint,
                    **_json_location(d.location),
                    "rule": describe(d.code),
                    "related": [_json_location(r) for r in d.related],
                }
                for d in diagnostics
            ],
        }
        return json.dumps(document, indent=2) + "\n"


def _escape_data(text: str) -> str:
    escaped = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return _visible(escaped)


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


class GithubReporter:
    """Workflow commands: GitHub shows each as an annotation on the spec's exact line."""

    def render(self, diagnostics: list[Diagnostic], checked: int) -> str:
        lines = []
        for d in diagnostics:
            props = [f"file={_escape_property(d.location.file)}"]
            if d.location.line:
                props += [f"line={d.location.line}", f"col={d.location.column}"]
            props.append(f"title={_escape_property(f'specops {d.code}')}")
            message = d.message + (f" ({d.hint})" if d.hint else "")
            if d.location.json_path:
                message += f" [{d.location.path_text}]"
            lines.append(
                f"::{_GITHUB_LEVEL[d.severity]} {','.join(props)}::{_escape_data(message)}"
            )
        lines.append(_summary(diagnostics, checked))
        return "\n".join(lines) + "\n"


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


class SarifReporter:
    """SARIF 2.1.0, as GitHub code scanning accepts it (relative URIs, one rule per code)."""

    def render(self, diagnostics: list[Diagnostic], checked: int) -> str:
        codes = sorted({d.code for d in diagnostics})
        document = {
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "specops",
                            "version": __version__,
                            "informationUri": "https://github.com/specops/specops",
                            "rules": [
                                {
                                    "id": c,
                                    "name": c,
                                    "shortDescription": {"text": describe(c)},
                                }
                                for c in codes
                            ],
                        }
                    },
                    "results": [self._result(d, codes.index(d.code)) for d in diagnostics],
                }
            ],
        }
        return json.dumps(document, indent=2) + "\n"

    @staticmethod
    def _result(d: Diagnostic, rule_index: int) -> dict[str, Any]:
        text = d.message + (f" Hint: {d.hint}" if d.hint else "")
        result: dict[str, Any] = {
            "ruleId": d.code,
            "ruleIndex": rule_index,
            "level": _SARIF_LEVEL[d.severity],
            "message": {"text": text},
            "locations": [{"physicalLocation": SarifReporter._physical(d.location)}],
        }
        if d.related:
            result["relatedLocations"] = [
                {"id": index, "physicalLocation": SarifReporter._physical(r)}
                for index, r in enumerate(d.related)
            ]
        return result

    @staticmethod
    def _physical(location: Location) -> dict[str, Any]:
        physical: dict[str, Any] = {"artifactLocation": {"uri": location.file}}
        if location.line:
            physical["region"] = {
                "startLine": location.line,
                "startColumn": max(location.column, 1),
            }
        return physical


REPORTER_BY_NAME: dict[str, Reporter] = {
    "text": TextReporter(),
    "json": JsonReporter(),
    "github": GithubReporter(),
    "sarif": SarifReporter(),
}
