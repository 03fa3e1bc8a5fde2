"""Credential formats detect-secrets 1.5 does not know, as its own `RegexBasedDetector`s.

Each pattern is the issuer's documented token shape; when a detect-secrets release adds one, the
built-in plugin finds it too and this one can go.
"""

from __future__ import annotations

import re

from detect_secrets.plugins.base import RegexBasedDetector


class HuggingFaceTokenDetector(RegexBasedDetector):
    """User access tokens: `hf_` and 34 letters."""

    secret_type = "Hugging Face Token"
    denylist = (re.compile(r"\bhf_[A-Za-z]{34,40}\b"),)


class GitHubFineGrainedTokenDetector(RegexBasedDetector):
    """Fine-grained personal access tokens (detect-secrets knows only ghp_/gho_/...)."""

    secret_type = "GitHub Fine-grained Token"
    denylist = (re.compile(r"\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b"),)


class OpenAIProjectKeyDetector(RegexBasedDetector):
    """Project, service-account and admin keys, with or without the legacy T3BlbkFJ marker."""

    secret_type = "OpenAI Project Key"
    denylist = (re.compile(r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}"),)


class GoogleApiKeyDetector(RegexBasedDetector):
    secret_type = "Google API Key"
    denylist = (re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),)


class NpmAccessTokenDetector(RegexBasedDetector):
    """Granular and classic tokens alone (detect-secrets finds them only inside an .npmrc line)."""

    secret_type = "npm Access Token"
    denylist = (re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"),)


class PypiTokenAnyDetector(RegexBasedDetector):
    """Any `pypi-` macaroon: detect-secrets wants the pypi.org or test.pypi.org header only."""

    secret_type = "PyPI Token"
    denylist = (re.compile(r"\bpypi-[A-Za-z0-9_-]{50,}"),)


EXTRA_DETECTORS: tuple[type[RegexBasedDetector], ...] = (
    HuggingFaceTokenDetector,
    GitHubFineGrainedTokenDetector,
    OpenAIProjectKeyDetector,
    GoogleApiKeyDetector,
    NpmAccessTokenDetector,
    PypiTokenAnyDetector,
)
