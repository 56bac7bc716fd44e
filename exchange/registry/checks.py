"""``exchange schemas check``: every data standard against its released versions, a git ref, a registry."""

from __future__ import annotations

import json
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exchange.compatibility import Mode, check
from exchange.errors import SchemaError
from exchange.registry.schema_registry import DEFAULT_MODE, normalised_json
from exchange.registry.standards import Standard, load_avro_file, standards
from exchange.topics import TopicSpec, load_topics
from schemas import AVRO_DIR


@dataclass
class Finding:
    """The verdict for one standard against one set of earlier schemas."""

    standard: str
    against: str
    mode: str
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons


def _verdict(standard: Standard, against: str, mode: Mode, earlier: list[Any]) -> Finding:
    reasons = check(standard.current, earlier, mode) if earlier else []
    return Finding(standard.name, against, mode.value, [f"{r.path}: {r.message}" for r in reasons])


def check_history(topics: dict[str, TopicSpec], avro_dir: Path = AVRO_DIR) -> list[Finding]:
    """Each current schema against its released versions, under its topic's mode."""
    findings = []
    for name, standard in standards(topics, avro_dir).items():
        mode = Mode(topics[name].compatibility or DEFAULT_MODE)
        if standard.edited_in_place():
            findings.append(Finding(standard.name, f"released v{standard.version}", mode.value, [
                f"the file differs from released v{standard.version}: raise its \"version\" instead of "
                "editing a released version"]))
        earlier = standard.earlier()
        findings.append(_verdict(standard, f"released v1..v{len(earlier)}" if earlier else "no earlier release",
                                 mode, earlier))
    return findings


def check_against_ref(topics: dict[str, TopicSpec], ref: str, repo: Path | None = None) -> list[Finding]:
    """Each current schema against the same file at git ``ref`` (e.g. ``origin/main``)."""
    repo = repo or AVRO_DIR.parent.parent
    relative = AVRO_DIR.relative_to(repo)
    listing = _git(repo, "ls-tree", "--name-only", f"{ref}:{relative.as_posix()}")
    findings = []
    with tempfile.TemporaryDirectory() as tmp:
        for filename in listing.split():
            if filename.endswith(".avsc"):
                text = _git(repo, "show", f"{ref}:{(relative / filename).as_posix()}")
                (Path(tmp) / filename).write_text(text, encoding="utf-8")
        for name, standard in standards(topics).items():
            old_path = Path(tmp) / f"{standard.name}.avsc"
            if not old_path.exists():
                continue  # a new standard: nothing to be compatible with
            old = load_avro_file(old_path)
            mode = Mode(topics[name].compatibility or DEFAULT_MODE)
            changed = normalised_json(old) != normalised_json(standard.current)
            findings.append(_verdict(standard, f"git {ref}", mode, [old] if changed else []))
    return findings


def _git(repo: Path, *args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise SchemaError(f"git {' '.join(args)} failed: {detail.strip()}") from exc


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise SchemaError(f"registry answered {exc.code} for {url}: {exc.read()[:200]!r}") from exc
    except (OSError, ValueError) as exc:
        raise SchemaError(f"cannot reach the registry at {url}: {exc}") from exc


def check_against_registry(topics: dict[str, TopicSpec], url: str) -> list[Finding]:
    """Each current schema against every version its subject holds in a running registry."""
    base = url.rstrip("/")
    findings = []
    for name, standard in standards(topics).items():
        subject = urllib.parse.quote(topics[name].subject, safe="")
        versions = _get(f"{base}/subjects/{subject}/versions")
        if not versions:
            continue
        schemas = [json.loads(_get(f"{base}/subjects/{subject}/versions/{v}")["schema"]) for v in versions]
        config = _get(f"{base}/config/{subject}?defaultToGlobal=true") or {}
        mode = Mode(config.get("compatibilityLevel", DEFAULT_MODE))
        registered = any(normalised_json(s) == normalised_json(standard.current) for s in schemas)
        findings.append(_verdict(standard, f"registry {base}", mode, [] if registered else schemas))
    return findings


def check_all(ref: str | None = None, registry_url: str | None = None) -> list[Finding]:
    topics = load_topics()
    findings = check_history(topics)
    if ref:
        findings += check_against_ref(topics, ref)
    if registry_url:
        findings += check_against_registry(topics, registry_url)
    return findings
