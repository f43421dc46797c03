"""The live log page in headless Chromium under a stream of lines: does the page keep up?

    .venv/bin/python bench/dashboard_browser.py [--rate 2000] [--seconds 10]

Serves a dashboard (uvicorn, in process) whose live log a thread fills at ``--rate`` lines per
second (in 10 ms batches), opens ``/live`` in Debian's headless Chromium through Selenium and
records, in the page, the interval between animation frames (``requestAnimationFrame``) and
the long tasks (``PerformanceObserver``, tasks over 50 ms) for ``--seconds``. A page that
freezes shows long frames and long tasks; one that falls behind shows fewer lines received
than sent (the server skips what a slow reader missed, the page drops what it cannot draw;
both are counted on the page). Frame times depend on the machine's load: printed, not asserted.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import threading
import time
from typing import Any

import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from skylaunch import App
from skylaunch.dashboard import LiveLog, create_dashboard

CHROMIUM = os.environ.get("SKYLAUNCH_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SKYLAUNCH_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")

# installed in the page: frame intervals and long tasks from now on
PROBE = """
window.__probe = {frames: [], long: [], start: performance.now()};
var last = performance.now();
function tick(t) { window.__probe.frames.push(t - last); last = t; requestAnimationFrame(tick); }
requestAnimationFrame(tick);
try {
  new PerformanceObserver(function (list) {
    list.getEntries().forEach(function (e) { window.__probe.long.push(e.duration); });
  }).observe({entryTypes: ["longtask"]});
} catch (e) { window.__probe.noLongTasks = true; }
"""
COLLECT = """
var p = window.__probe;
return {frames: p.frames, long: p.long, elapsed: performance.now() - p.start,
        noLongTasks: !!p.noLongTasks,
        count: document.getElementById("live-count").textContent,
        items: document.querySelectorAll("#live-all li").length};
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def feed(live: LiveLog, rate: int, stop: threading.Event, sent: list[int]) -> None:
    """Append ``rate`` lines per second in 10 ms batches until ``stop``."""
    began, n = time.perf_counter(), 0
    while not stop.is_set():
        due = int((time.perf_counter() - began) * rate)
        while n < due:
            n += 1
            live.append(
                {
                    "created": time.time(),
                    "task_name": f"t{n % 7}",
                    "message": f"line {n} of the bench",
                }
            )
        sent[0] = n
        stop.wait(0.01)


def browser() -> Any:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    return driver


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=2000, help="lines per second sent")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    live = LiveLog(max_lines=10_000)
    board = create_dashboard(App(execution="main"), live=live)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(board, host="127.0.0.1", port=port, log_level="error"))
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    while not server.started:
        time.sleep(0.02)
    stop, sent = threading.Event(), [0]
    feeder = threading.Thread(target=feed, args=(live, args.rate, stop, sent), daemon=True)
    driver = browser()
    try:
        driver.get(f"http://127.0.0.1:{port}/live")
        WebDriverWait(driver, 30, poll_frequency=0.05).until(
            lambda d: d.execute_script("return !!document.getElementById('live-all')")
        )
        driver.execute_script(PROBE)
        feeder.start()
        time.sleep(args.seconds)
        got = driver.execute_script(COLLECT)
        stop.set()
    finally:
        driver.quit()
        stop.set()
        server.should_exit = True
        serving.join(timeout=10)
    frames = [float(x) for x in got["frames"][1:]]
    long = [float(x) for x in got["long"]]
    seconds = got["elapsed"] / 1000
    print(f"sent {sent[0]:,} lines in {args.seconds:g} s ({sent[0] / args.seconds:,.0f} lines/s)")
    print(f"page: {got['count']}; {got['items']} lines kept in the page")
    print(
        f"frames: {len(frames)} in {seconds:.1f} s ({len(frames) / seconds:.0f}/s), interval "
        f"median {statistics.median(frames) if frames else 0:.1f} ms, "
        f"p95 {percentile(frames, 0.95):.1f} ms, max {max(frames, default=0):.1f} ms"
    )
    if got["noLongTasks"]:
        print("long tasks: not reported by this Chromium")
    else:
        print(
            f"long tasks (> 50 ms): {len(long)}, {sum(long):.0f} ms in all, "
            f"longest {max(long, default=0):.0f} ms"
        )


if __name__ == "__main__":
    main()
