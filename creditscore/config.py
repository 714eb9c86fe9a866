"""Loading declaration files (catalogue, master scales, policy) into strict pydantic models.

Analysts edit these YAML files by hand, so a mistake must come back as the file,
the line and the key, e.g. ``features/sme.yaml:41: indicators[3].directon: extra
inputs are not permitted``, never as a silently ignored field.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from creditscore.errors import ConfigError

__all__ = ["file_hash", "load_yaml_model"]

M = TypeVar("M", bound=BaseModel)


def _line_of(node: yaml.Node, loc: tuple[object, ...]) -> int:
    """The 1-based line of the YAML node that ``loc`` (a pydantic error location) points at."""
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _where(loc: tuple[object, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_yaml_model(path: str | Path, model: type[M]) -> M:
    """Parse ``path`` and validate it as ``model``; raise :class:`ConfigError` naming file, line and key."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot be read ({exc.strerror})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{p}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if node is None:
        raise ConfigError(f"{p}: the file is empty")
    try:
        return model.model_validate(data, context={"source": str(p)})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            lines.append(f"{p}:{_line_of(node, loc)}: {_where(loc)}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None


def file_hash(*paths: str | Path) -> str:
    """SHA-256 over the files' bytes: what a model bundle records to refuse a different catalogue."""
    h = hashlib.sha256()
    for path in paths:
        h.update(Path(path).read_bytes())
    return h.hexdigest()
