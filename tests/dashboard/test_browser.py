"""The dashboard in a real headless Chromium against a real uvicorn serving a real app.

One server and one browser for the module (tests/dashboard/dashboard_app.py: tasks that
succeed, fail, run long and log lines). Screenshots of the overview and a task page are saved
under the test's tmp dir. Without Debian's chromium and chromedriver the module skips naming
them; under CI=true it fails (.ci/run installs them).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration._proc import wait_until_serving

APP_DIR = Path(__file__).parent
TOKEN = "dashboard-test-token-0123456789"
CHROMIUM = os.environ.get("SKYLAUNCH_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SKYLAUNCH_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT_S = 10.0
#: The server's bounded lifetime: it is killed by then even if the module's teardown is lost.
SERVER_LIFETIME_S = 90

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def _browser_paths() -> tuple[str, str]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (os.path.exists(p) or shutil.which(p))]
    if missing:
        message = f"the browser tests need {' and '.join(missing)} (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {message}")
        pytest.skip(message)
    return CHROMIUM, CHROMEDRIVER


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(APP_DIR), *sys.path])}
        self.proc = subprocess.Popen(
            [
                "timeout",
                "-s",
                "KILL",
                str(SERVER_LIFETIME_S),
                sys.executable,
                "-m",
                "uvicorn",
                "dashboard_app:server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--timeout-graceful-shutdown",
                "1",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: close() kills timeout and uvicorn
        )
        self.client = httpx.Client(base_url=self.url, timeout=10)
        wait_until_serving(
            self.proc, lambda: self.client.get("/api/").status_code, WAIT_S, self.close
        )

    def api(self, path: str) -> Any:
        response = self.client.get("/api" + path)
        assert response.status_code == 200, response.text
        return response.json()

    def close(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.communicate(timeout=WAIT_S)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium, chromedriver = _browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def wait_for(driver: Any, check: Any, what: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S, poll_frequency=0.05).until(
        lambda d: check(d), message=what
    )


def css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def test_overview_rows_match_the_history(server: Server, browser: Any, shots: Path) -> None:
    # wait until both every-second tasks have ended at least twice
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        tasks = {t["name"]: t for t in server.api("/tasks")}
        if all((tasks[n]["last"] or {}).get("outcome") for n in ("steady", "broken")):
            break
        time.sleep(0.1)
    browser.get(server.url + "/")
    rows = wait_for(browser, lambda d: css(d, "#tasks tbody tr"), "task rows")
    shown = {r.get_attribute("data-name"): r for r in rows}
    tasks = {t["name"]: t for t in server.api("/tasks")}
    assert set(shown) == set(tasks) == {"steady", "broken", "long_haul", "manual", "nightly"}
    for name, task in tasks.items():
        row = shown[name]
        # the status may move between the two reads only for the every-second tasks
        if name not in ("steady", "broken", "long_haul"):
            assert row.get_attribute("data-status") == task["status"]
        assert task["condition"] in row.text
    assert shown["broken"].get_attribute("data-outcome") == "fail"
    assert shown["steady"].get_attribute("data-outcome") == "success"
    assert shown["manual"].get_attribute("data-outcome") == "none"
    fails = int(shown["broken"].find_elements("css selector", "td.num")[0].text)
    assert fails >= 1
    assert "waiting" not in shown["manual"].text
    assert "never" in shown["manual"].text
    # the strip of outcomes: red cells for the failing task, green for the steady one
    assert css(browser, 'tr[data-name="broken"] .strip i.o-fail')
    assert css(browser, 'tr[data-name="steady"] .strip i.o-success')
    # filter by name and by status, then sort by name
    box = css(browser, "#f-name")[0]
    box.send_keys("bro")
    visible = [
        r.get_attribute("data-name") for r in css(browser, "#tasks tbody tr") if r.is_displayed()
    ]
    assert visible == ["broken"]
    box.clear()
    box.send_keys(" ")  # an input event after clear()
    from selenium.webdriver.support.ui import Select

    Select(css(browser, "#f-status")[0]).select_by_value("failed")
    visible = [
        r.get_attribute("data-name") for r in css(browser, "#tasks tbody tr") if r.is_displayed()
    ]
    assert visible == ["broken"]
    Select(css(browser, "#f-status")[0]).select_by_value("")
    css(browser, 'button.sort[data-col="0"]')[0].click()
    names = [r.get_attribute("data-name") for r in css(browser, "#tasks tbody tr")]
    assert names == sorted(names)
    # the timeline is filled in from the upcoming model
    wait_for(browser, lambda d: css(d, "#timeline ul.timeline li"), "the timeline")
    assert "nightly" in css(browser, "#timeline")[0].text
    assert not css(browser, "button.act")  # not logged in: no control buttons anywhere
    browser.save_screenshot(str(shots / "overview.png"))
    assert (shots / "overview.png").stat().st_size > 10_000


def test_failed_run_traceback(server: Server, browser: Any, shots: Path) -> None:
    browser.get(server.url + "/tasks/broken")
    failed = wait_for(
        browser, lambda d: css(d, 'tr[data-outcome="fail"] details.tb'), "a failed run"
    )
    assert css(browser, "svg.plot circle.pf")  # failures marked in the duration plot
    assert not css(browser, "button.act")
    failed[0].find_element("css selector", "summary").click()
    text = failed[0].find_element("css selector", "pre").text
    assert "ValueError: the data source is gone" in text
    browser.save_screenshot(str(shots / "task.png"))
    # the run's own page lists its records by run id
    failed[0].find_element("xpath", "./../..").find_element("css selector", "a").click()
    wait_for(browser, lambda d: "ValueError" in d.find_element("tag name", "main").text, "run page")


def test_control_needs_login_and_json(server: Server) -> None:
    with httpx.Client(base_url=server.url) as anon:
        assert anon.post("/tasks/manual/run", json={}).status_code == 403
        logged = anon.post("/login", data={"token": TOKEN})
        assert logged.status_code == 303
        # a form post (what a cross-site page can send) is refused even with the cookie
        assert anon.post("/tasks/manual/run", data={"x": "1"}).status_code == 415
        foreign = {"Origin": "http://evil.example"}
        assert anon.post("/tasks/manual/run", json={}, headers=foreign).status_code == 403
        assert anon.post("/login", data={"token": "wrong"}).status_code == 401


def _log_in(server: Server, browser: Any) -> None:
    browser.get(server.url + "/login")
    css(browser, "#token")[0].send_keys(TOKEN)
    css(browser, "form.login button")[0].click()
    wait_for(browser, lambda d: css(d, "#tasks"), "the overview after login")


def test_run_now_appears_live(server: Server, browser: Any) -> None:
    _log_in(server, browser)
    browser.get(server.url + "/tasks/manual")
    wait_for(browser, lambda d: css(d, 'ol.live[data-connected="yes"]'), "the live view")
    labels = [b.text for b in css(browser, "button.act")]
    assert labels == ["Run now", "Disable", "Terminate"]
    css(browser, 'button.act[data-action="run"]')[0].click()
    wait_for(
        browser,
        lambda d: "manual run says hello" in css(d, "ol.live")[0].text,
        "the run's line in the live view",
    )
    wait_for(browser, lambda d: "success" in css(d, "ol.live")[0].text, "the run's end")
    assert server.api("/tasks/manual")["last"]["outcome"] == "success"
    browser.refresh()
    wait_for(browser, lambda d: css(d, 'table.runs tr[data-outcome="success"]'), "the run's row")


def test_disable_a_task(server: Server, browser: Any) -> None:
    _log_in(server, browser)
    browser.get(server.url + "/tasks/nightly")
    wait_for(browser, lambda d: css(d, 'button.act[data-action="disable"]'), "buttons")[0].click()
    wait_for(browser, lambda d: d.switch_to.alert, "the confirmation").accept()
    wait_for(browser, lambda d: css(d, 'button.act[data-action="enable"]'), "the enable button")
    assert "disabled" in css(browser, "h1 .badge")[0].text
    assert server.api("/tasks/nightly")["status"] == "disabled"


def test_live_log_receives_lines(server: Server, browser: Any) -> None:
    browser.get(server.url + "/live")
    live = wait_for(browser, lambda d: css(d, "#live-all"), "the live log")[0]
    first = wait_for(browser, lambda d: len(css(d, "#live-all li")), "lines")
    wait_for(browser, lambda d: len(css(d, "#live-all li")) > first, "newer lines")
    assert "steady did its work" in live.text
    assert "received" in css(browser, "#live-count")[0].text


def test_metrics_parse(server: Server) -> None:
    text = server.client.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    runs = {
        (s.labels["task"], s.labels["outcome"]): s.value
        for s in families["skylaunch_runs"].samples
        if s.name == "skylaunch_runs_total"
    }
    history = {t["name"]: t for t in server.api("/tasks")}
    assert runs[("broken", "fail")] >= 1
    assert runs[("steady", "success")] >= 1
    assert ("broken", "success") not in runs
    assert history["broken"]["last"]["outcome"] == "fail"
    durations = {s.labels.get("task") for s in families["skylaunch_run_duration_seconds"].samples}
    assert {"steady", "broken"} <= durations
    assert any(s.value >= 1 for s in families["skylaunch_launch_lateness_seconds"].samples)
    assert "skylaunch_waiting_for_slot" in families
    assert "skylaunch_output_buffered_records" in families
