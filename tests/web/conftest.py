"""The web pages over a small synthetic store, with a user per role."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api import create_app
from creditscore.service.accounts import create_user
from creditscore.service.keys import Role
from creditscore.settings import Settings
from creditscore.store import Store
from creditscore.synth import SynthConfig, generate
from creditscore.synth.feeds import load_feeds

PASSWORD = "correct horse battery"
INSTITUTIONS = {Role.BANK: "示范农商银行", Role.ASSESSOR: "石门乡人民政府", Role.ANALYST: "平台分析组",
                Role.ADMIN: "信用平台"}


@pytest.fixture(scope="package")
def web_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("web")
    settings = Settings(data_dir=folder / "data", model_source="demo", max_upload_bytes=2_000_000)
    store = Store(settings.store_url)
    store.init()
    load_feeds(store, generate(SynthConfig(seed=21, n_firms=200, n_households=600)).write_files(folder / "feeds"))
    for role in Role:
        create_user(store, role.value, PASSWORD, role=role, institution=INSTITUTIONS[role])
    store.dispose()
    return settings


@pytest.fixture(scope="package")
def app(web_settings: Settings):
    application = create_app(web_settings)
    with TestClient(application):
        yield application


@pytest.fixture(scope="package")
def store(web_settings: Settings) -> Store:
    return Store(web_settings.store_url)


@pytest.fixture
def visitor(app) -> TestClient:
    """A browser of its own (its own cookies) on the started application."""
    return TestClient(app, follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_of(page.text),
                                       "next": "/"})


@pytest.fixture
def as_role(app):
    def make(role: str) -> TestClient:
        c = TestClient(app, follow_redirects=False)
        r = log_in(c, role)
        assert r.status_code == 303, r.text
        return c

    return make
