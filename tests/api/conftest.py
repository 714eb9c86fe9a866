"""A service over a small synthetic store, with a key per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import create_app
from creditscore.service.keys import Role, create_key
from creditscore.settings import Settings
from creditscore.store import Store
from creditscore.synth import SynthConfig, generate
from creditscore.synth.feeds import load_feeds


@pytest.fixture(scope="package")
def api_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("service")
    settings = Settings(data_dir=folder / "data", model_source="demo", max_upload_bytes=200_000)
    store = Store(settings.store_url)
    store.init()
    population = generate(SynthConfig(seed=12, n_firms=300, n_households=300))
    load_feeds(store, population.write_files(folder / "feeds"))
    store.dispose()
    return settings


@pytest.fixture(scope="package")
def keys(api_settings: Settings) -> dict[str, str]:
    store = Store(api_settings.store_url)
    out = {role.value: create_key(store, f"{role.value} institution", role) for role in Role}
    out["other_bank"] = create_key(store, "another bank", Role.BANK)
    return out


@pytest.fixture(scope="package")
def client(api_settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings)) as c:
        yield c


@pytest.fixture(scope="package")
def store(api_settings: Settings) -> Store:
    return Store(api_settings.store_url)


def auth(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def a_firm(store: Store) -> str:
    """A firm that exists on every date the tests grade at (the synthetic population grows: most firms are
    founded during the records' years)."""
    firms = store.records("enterprises")
    return str(firms[firms["registered_on"] < "2019-01-01"]["uscc"].iloc[3])


def a_household(store: Store) -> str:
    heads = store.records("households")["head_id"]
    return str(heads[heads.str.len() == 18].iloc[3])


def data_dir(settings: Settings) -> Path:
    return settings.data_dir
