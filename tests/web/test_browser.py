"""End to end in a real browser: Debian's chromium driven by Playwright (never Playwright's own download).

The service runs in this process on a free port, over the web tests' store; the browser is started headless
with the flags a closed network needs (no background networking, no component updates). Screenshots of each
step are written under ``build/screenshots`` (or ``CREDITSCORE_SCREENSHOTS``), which CI keeps as artefacts.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from creditscore.settings import Settings
from creditscore.store import Store
from creditscore.synth.rosters import write_township_workbook
from tests.web.conftest import PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(os.environ.get("CREDITSCORE_SCREENSHOTS", Path(__file__).resolve().parents[2] / "build" / "screenshots"))
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions"]

if not Path(CHROMIUM).is_file():
    if os.environ.get("CREDITSCORE_REQUIRE_BROWSER"):
        raise RuntimeError(f"no chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium)")
    pytest.skip("no chromium on this machine (CI installs Debian's)", allow_module_level=True)

playwright = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(web_settings: Settings) -> Iterator[str]:
    from api import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(web_settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


def _shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _log_in(page: object, site: str, user: str) -> None:
    page.goto(site + "/")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")


def test_an_assessor_uploads_maps_watches_and_downloads(site: str, browser: object, web_settings: Settings,
                                                        tmp_path: Path) -> None:
    from openpyxl import load_workbook

    store = Store(web_settings.store_url)
    path = tmp_path / "石门乡农户信用评级登记表.xlsx"
    held = write_township_workbook(store.records("households"), path, villages=3, per_village=25)
    wb = load_workbook(path)
    for ws in wb.worksheets[1:]:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value == "村委评价":
                    cell.value = "群众评议"  # a header no rule knows: the assessor maps it on the page
    wb.save(path)

    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    # a download ends its request as "aborted" in the browser's eyes: that one is no failure
    page.on("requestfailed", lambda r: None if r.url.endswith("/workbook") else errors.append(f"failed: {r.url}"))
    _log_in(page, site, "assessor")
    assert page.url.endswith("/batches")
    _shot(page, "01-assessor-batches")
    page.set_input_files("#file", str(path))
    # a village's slow uplink (8 KB/s): the upload's progress bar must show how far it has got
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 50, "downloadThroughput": -1,
                                                  "uploadThroughput": 8_000})
    page.get_by_role("button", name="上传并核对表头").click()
    bar = page.locator("progress[data-upload]")
    bar.wait_for(state="visible", timeout=20_000)
    assert float(bar.get_attribute("max")) >= path.stat().st_size
    _shot(page, "02a-assessor-upload-progress")
    page.wait_for_url("**/batches/staged/*", timeout=60_000)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})
    _shot(page, "02b-assessor-confirm-columns")
    page.select_option("select[name='map:群众评议']", "village_evaluation")
    page.get_by_label("授权书编号").fill("SQ-2024-018")
    page.fill("#as_of", "2024-06-30")
    page.get_by_role("button", name="开始评级").click()
    page.wait_for_url("**/batches/*")
    page.locator("progress").first.wait_for(state="attached")
    _shot(page, "03-assessor-progress")
    page.get_by_text("下载评级结果（Excel）").wait_for(timeout=120_000)
    page.get_by_role("heading", name="信用村评定").wait_for()
    _shot(page, "04-assessor-village-summary")
    text = page.inner_text("main")
    assert "信用村评定" in text
    assert page.locator("svg figure, figure svg").count() >= 1
    with page.expect_download() as download:
        page.get_by_text("下载评级结果（Excel）").click()
    saved = tmp_path / "result.xlsx"
    download.value.save_as(saved)
    import pandas as pd

    sheets = pd.read_excel(saved, sheet_name=None, engine="calamine")
    assert len(sheets["农户评级"]) + sheets["错误"][["工作表", "行号"]].drop_duplicates().shape[0] == held["households"]
    assert not errors, errors  # no script error, no request to anywhere that failed (no CDN)
    context.close()


def test_a_bank_officer_looks_a_firm_up_and_reads_its_reasons(site: str, browser: object,
                                                               web_settings: Settings) -> None:
    store = Store(web_settings.store_url)
    firms = store.records("enterprises")
    name = str(firms["name"].iloc[7])
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    _log_in(page, site, "bank")
    page.get_by_label("统一社会信用代码或企业名称").fill(name)
    page.get_by_role("button", name="查找").click()
    _shot(page, "05-bank-search")
    page.get_by_role("link", name="查看评级").first.click()
    page.get_by_label("查询用途").select_option("loan_application")
    page.get_by_role("button", name="查询评级").click()
    page.locator("#grade-card").wait_for()
    _shot(page, "06-bank-grade-card")
    card = page.inner_text("#grade-card")
    assert "主要扣分原因" in card
    assert "违约概率" in card
    assert page.locator("#grade-card ul.reasons li").count() >= 2
    context.close()


def test_the_core_flows_work_with_javascript_off(site: str, browser: object, web_settings: Settings) -> None:
    context = browser.new_context(java_script_enabled=False, locale="zh-CN")
    page = context.new_page()
    _log_in(page, site, "bank")
    assert page.url.endswith("/firms")
    uscc = str(Store(web_settings.store_url).records("enterprises")["uscc"].iloc[9])
    page.goto(f"{site}/firms/{uscc}")
    page.get_by_role("button", name="查询评级").click()
    page.locator("#grade-card").wait_for()
    _shot(page, "07-no-javascript-grade-card")
    page.get_by_role("button", name="退出").click()
    assert "/login" in page.url
    context.close()
