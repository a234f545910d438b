"""One settings object: defaults < config file < environment < flags; bad values are usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mhqa.errors import SettingsError
from mhqa.settings import load_settings, write_setting


def test_defaults(tmp_path):
    settings = load_settings({}, env={}, cwd=tmp_path)
    assert settings.corpus == Path("corpus") and settings.index == Path("index")
    assert settings.min_evidence is None and settings.top_k == 5 and not settings.uses_server


def test_precedence_config_then_environment_then_flags(tmp_path):
    (tmp_path / "mhqa.toml").write_text('index = "from-config"\ncorpus = "docs"\ntop_k = 7\n')
    settings = load_settings({}, env={}, cwd=tmp_path)
    assert (settings.index, settings.corpus, settings.top_k) == (Path("from-config"), Path("docs"), 7)
    settings = load_settings({}, env={"MHQA_INDEX": "from-env"}, cwd=tmp_path)
    assert settings.index == Path("from-env") and settings.corpus == Path("docs")
    settings = load_settings({"index": "from-flag", "top_k": None}, env={"MHQA_INDEX": "from-env"}, cwd=tmp_path)
    assert settings.index == Path("from-flag") and settings.top_k == 7


def test_config_table_and_explicit_path(tmp_path):
    config = tmp_path / "elsewhere.toml"
    config.write_text("[mhqa]\nmin_evidence = 0.4\n")
    assert load_settings({}, config=config, env={}, cwd=tmp_path).min_evidence == 0.4
    assert load_settings({}, env={"MHQA_CONFIG": str(config)}, cwd=tmp_path).min_evidence == 0.4


@pytest.mark.parametrize(
    "config, env, flags",
    [
        ("top_k = 0\n", {}, {}),
        ("colour = 'red'\n", {}, {}),
        ('chroma_token = "secret"\n', {}, {}),
        ("", {"MHQA_TOP_K": "many"}, {}),
        ("", {}, {"min_evidence": 1.5}),
        ("", {}, {"chroma_url": "ftp://server"}),
        ("not toml = = =", {}, {}),
    ],
)
def test_bad_values_are_refused_with_a_reason(tmp_path, config, env, flags):
    (tmp_path / "mhqa.toml").write_text(config)
    with pytest.raises(SettingsError):
        load_settings(flags, env=env, cwd=tmp_path)


@pytest.mark.parametrize(
    "config",
    [
        'chroma_token = "tok_secret"\n\n[mhqa]\ntop_k = 3\n',  # beside the table: would be ignored without a word
        '[mhqa]\nchroma_token = "tok_secret"\n',
        'chroma_token = "tok_secret"\n',
    ],
)
def test_a_token_anywhere_in_the_config_is_refused(tmp_path, config):
    (tmp_path / "mhqa.toml").write_text(config)
    with pytest.raises(SettingsError, match="keep the token out of files") as refused:
        load_settings({}, env={}, cwd=tmp_path)
    assert "tok_secret" not in str(refused.value)


def test_settings_beside_the_mhqa_table_are_refused_not_ignored(tmp_path):
    (tmp_path / "mhqa.toml").write_text('top_k = 9\nindex = "x"\n\n[mhqa]\ntop_k = 3\n')
    with pytest.raises(SettingsError, match=r"outside the \[mhqa\] table .*: index, top_k"):
        load_settings({}, env={}, cwd=tmp_path)


def test_the_token_is_never_in_repr():
    settings = load_settings({"chroma_url": "http://127.0.0.1:1", "chroma_token": "s3cret-token"}, env={})
    assert "s3cret-token" not in repr(settings)


def test_write_setting_keeps_other_lines(tmp_path):
    config = tmp_path / "mhqa.toml"
    config.write_text("# mine\nindex = \"idx\"\nmin_evidence = 0.5\n")
    write_setting(config, "min_evidence", 0.6123)
    assert config.read_text() == "# mine\nindex = \"idx\"\nmin_evidence = 0.6123\n"
    write_setting(tmp_path / "new.toml", "min_evidence", 0.7)
    assert load_settings({}, config=tmp_path / "new.toml", env={}).min_evidence == 0.7
