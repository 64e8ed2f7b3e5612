"""Settings come from the environment, validated once, with errors that name the variable."""

import os
from pathlib import Path

import pytest

from healthdash.settings import SettingsError, default_data_dir, load_settings, normalise_database_url


def test_defaults() -> None:
    settings = load_settings({"HEALTHDASH_DATA_DIR": "/srv/hd"})
    assert settings.database_url is None
    assert settings.data_dir == Path("/srv/hd")
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.api_tokens == ()
    assert settings.scoring.weights["login_frequency"] == 25


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/hd", "postgresql+psycopg2://u:p@db:5432/hd"),
        ("postgresql://u@db/hd", "postgresql+psycopg2://u@db/hd"),
        ("postgresql+psycopg2://u@db/hd", "postgresql+psycopg2://u@db/hd"),
    ],
)
def test_database_url_forms(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected
    assert load_settings({"DATABASE_URL": given}).database_url == expected


def test_a_database_url_of_another_kind_is_refused() -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL must be a postgresql:// URL, got 'mysql'"):
        load_settings({"DATABASE_URL": "mysql://x@y/z"})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"HEALTHDASH_PORT": "eighty"}, "HEALTHDASH_PORT must be a whole number, got 'eighty'"),
        ({"HEALTHDASH_PORT": "70000"}, "HEALTHDASH_PORT must be between 0 and 65535, got 70000"),
        ({"HEALTHDASH_WEIGHT_API_USAGE": "-1"}, "weight of api_usage must be a positive number"),
        ({"HEALTHDASH_WEIGHT_API_USAGE": "lots"}, "HEALTHDASH_WEIGHT_API_USAGE must be a number, got 'lots'"),
        ({"HEALTHDASH_HEALTHY_MIN": "nan"}, "HEALTHDASH_HEALTHY_MIN must be a finite number"),
        ({"HEALTHDASH_HEALTHY_MIN": "30"}, "tier thresholds must be ordered"),
        ({"HEALTHDASH_WINDOW_DAYS": "2.5"}, "HEALTHDASH_WINDOW_DAYS must be a whole number"),
        ({"HEALTHDASH_API_TOKENS": "short"}, "every token needs at least 16 characters"),
        ({"HEALTHDASH_CACHE_SECONDS": "-1"}, "HEALTHDASH_CACHE_SECONDS must be between 0.0 and 3600.0"),
    ],
)
def test_invalid_values_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as excinfo:
        load_settings(environ)
    assert message in str(excinfo.value)


def test_scoring_from_environment_and_file(tmp_path: Path) -> None:
    scoring = tmp_path / "scoring.toml"
    scoring.write_text("login_target_days = 12\nhealthy_min = 75\n[weights]\nlogin_frequency = 30\napi_usage = 10\n")
    settings = load_settings(
        {"HEALTHDASH_SCORING_FILE": str(scoring), "HEALTHDASH_WEIGHT_API_USAGE": "12", "HEALTHDASH_AT_RISK_MIN": "45"}
    )
    assert settings.scoring.login_target_days == 12
    assert settings.scoring.healthy_min == 75
    assert settings.scoring.at_risk_min == 45
    assert settings.scoring.weights["login_frequency"] == 30
    assert settings.scoring.weights["api_usage"] == 12  # the environment wins over the file


def test_scoring_file_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings({"HEALTHDASH_SCORING_FILE": str(tmp_path / "missing.toml")})
    bad = tmp_path / "bad.toml"
    bad.write_text("weights = [")
    with pytest.raises(SettingsError, match="is not valid TOML"):
        load_settings({"HEALTHDASH_SCORING_FILE": str(bad)})


def test_tokens_are_split_on_commas() -> None:
    settings = load_settings({"HEALTHDASH_API_TOKENS": " a-very-long-token-1 , a-very-long-token-2 ,"})
    assert settings.api_tokens == ("a-very-long-token-1", "a-very-long-token-2")


def test_default_data_dir_for_root_and_for_users(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert default_data_dir({}) == Path("/var/lib/healthdash")
    assert load_settings({}).data_dir == Path("/var/lib/healthdash")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert default_data_dir({"XDG_DATA_HOME": "/srv/data"}) == Path("/srv/data/healthdash")
    monkeypatch.setenv("HOME", str(tmp_path))
    # the XDG spec says to ignore relative paths
    assert default_data_dir({"XDG_DATA_HOME": "relative/data"}) == tmp_path / ".local" / "share" / "healthdash"


def test_the_dashboard_keeps_more_preheated_kernels_than_the_other_pages() -> None:
    assert load_settings({}).kernel_pool_sizes == (("dashboard", 3),)
    assert load_settings({"HEALTHDASH_KERNEL_POOL_SIZE": "5"}).kernel_pool_sizes == (("dashboard", 5),)
    assert load_settings({"HEALTHDASH_KERNEL_POOL_SIZE": "0"}).kernel_pool_sizes == ()  # none preheated at all
    sizes = load_settings({"HEALTHDASH_KERNEL_POOL_SIZES": " explore = 0, customer=4 "}).kernel_pool_sizes
    assert sizes == (("explore", 0), ("customer", 4))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("analysis=1", "page=size pairs separated by commas"),
        ("dashboard", "page=size pairs separated by commas"),
        ("dashboard=", "page=size pairs separated by commas"),
        ("dashboard=9", "HEALTHDASH_KERNEL_POOL_SIZES must be between 0 and 8"),
        ("dashboard=two", "HEALTHDASH_KERNEL_POOL_SIZES must be a whole number"),
    ],
)
def test_pool_sizes_per_page_are_validated(value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({"HEALTHDASH_KERNEL_POOL_SIZES": value})
