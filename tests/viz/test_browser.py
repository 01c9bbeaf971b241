"""The HTML report in a real headless Chromium: no console errors, no network, rows, sorting, screenshot.

Needs Debian's `chromium` (/usr/bin/chromium, or $CONVWISE_CHROMIUM) and Playwright for Python
(`pip install playwright`; its own browser download is never used). Skipped with the reason otherwise.
Set $CONVWISE_SCREENSHOT_DIR to keep the screenshots.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_html_report import small_model, write_run
from viz_helpers import png_size

from convwise.viz.report import write_report

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CONVWISE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The report of a small model with a run directory, loaded once; console messages and requests."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CONVWISE_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    folder = tmp_path_factory.mktemp("report")
    html = folder / "report.html"
    data = write_report(small_model(), (3, 10, 10), html, name="small", run_dir=write_run(folder / "run"))
    messages: list[tuple[str, str]] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=ARGS, headless=True, viewport=VIEWPORT
        )
        try:
            page = context.new_page()
            page.on("console", lambda m: messages.append((m.type, m.text)))
            page.on("pageerror", lambda e: messages.append(("pageerror", str(e))))
            context.on("request", lambda r: requests.append(r.url))
            page.goto(html.as_uri())
            page.wait_for_selector("body[data-ready='1']", timeout=15_000)
            yield {
                "page": page,
                "html": html,
                "data": data,
                "messages": messages,
                "requests": requests,
                "folder": folder,
                "context": context,
            }
        finally:
            context.close()


def test_loads_without_console_errors(browser_page: dict[str, Any]) -> None:
    bad = [m for m in browser_page["messages"] if m[0] in ("error", "pageerror", "warning")]
    assert bad == []


def test_no_network_requests(browser_page: dict[str, Any]) -> None:
    assert browser_page["requests"] == [browser_page["html"].as_uri()]


def test_table_has_one_row_per_layer(browser_page: dict[str, Any]) -> None:
    page = browser_page["page"]
    layers = browser_page["data"]["summary"]["layers"]
    assert page.locator("#summary-table tbody tr.layer").count() == len(layers)
    names = page.locator("#summary-table tbody tr.layer td:nth-child(2)").all_inner_texts()
    assert names == [r["name"] for r in layers]


def _column(page: Any, key: str) -> list[int]:
    idx = page.locator("#summary-table thead th").evaluate_all(
        f"(ths) => ths.findIndex((t) => t.dataset.key === '{key}') + 1"
    )
    texts = page.locator(f"#summary-table tbody tr.layer td:nth-child({idx})").all_inner_texts()
    return [int(t.replace(",", "")) for t in texts]


def test_clicking_a_header_sorts(browser_page: dict[str, Any]) -> None:
    page = browser_page["page"]
    macs = [r["macs"] for r in browser_page["data"]["summary"]["layers"]]
    header = page.locator("#summary-table th[data-key='macs']")
    header.click()
    assert _column(page, "macs") == sorted(macs, reverse=True)
    assert header.get_attribute("aria-sort") == "descending"
    header.click()
    assert _column(page, "macs") == sorted(macs)
    page.locator("#summary-table th[data-key='index']").click()
    page.locator("#summary-table th[data-key='index']").click()
    assert _column(page, "index") == list(range(1, len(macs) + 1))


def test_clicking_a_row_explains_it(browser_page: dict[str, Any]) -> None:
    page = browser_page["page"]
    page.locator("#summary-table tbody tr.layer").first.click()
    text = page.locator("#explain").inner_text()
    assert "weight params = Cout·Cin·kh·kw = 8·3·3·3 = 216" in text
    assert "separable" in text
    assert page.locator("#layer-figure").is_hidden()
    page.locator("#explain button.show-figure").click()
    figure = page.locator("#layer-figure svg")
    assert figure.count() == 1 and figure.is_visible()
    assert "params 224 · multiplications 21,600" in figure.inner_html()  # 8·3·3·3 + 8; 8·10·10·27


def test_training_section_and_screenshot(browser_page: dict[str, Any]) -> None:
    page = browser_page["page"]
    assert page.locator("#training").is_visible()
    assert page.locator("#curve-loss svg path").count() == 2
    assert page.locator("#confusion tr").count() == 4  # header + 3 classes
    keep = os.environ.get("CONVWISE_SCREENSHOT_DIR")
    folder = Path(keep) if keep else browser_page["folder"]
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "report-viewport.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shot))
    assert png_size(shot) == (VIEWPORT["width"], VIEWPORT["height"])
    full = folder / "report-full.png"
    page.screenshot(path=str(full), full_page=True)
    width, height = png_size(full)
    assert width == VIEWPORT["width"] and height > VIEWPORT["height"]


def test_layer_graph_opens_on_demand(browser_page: dict[str, Any]) -> None:
    page = browser_page["page"]
    assert page.locator("#graph-view svg").count() == 0
    page.locator("#graph-details summary").click()
    page.wait_for_selector("#graph-view svg", timeout=5_000)  # the toggle event is dispatched async
    graph = page.locator("#graph-view svg")
    assert graph.count() == 1 and graph.is_visible()
    # one box per layer plus the input and output boxes
    layers = browser_page["data"]["summary"]["layers"]
    boxes = page.locator("#graph-view svg rect[rx]").count()
    assert boxes == len(layers) + 2


_OVERFLOW = """() => [...document.querySelectorAll('table')]
  .filter((t) => t.offsetParent !== null).map((t) => {
    let box = t.parentElement;  // the nearest box that would clip or scroll it
    while (box !== document.body && getComputedStyle(box).overflowX === 'visible') box = box.parentElement;
    return {table: t.id || t.className || t.closest('[id]').id, width: t.scrollWidth, room: box.clientWidth,
            scrolls: box.scrollWidth > box.clientWidth + 1};
  })"""


@pytest.mark.parametrize("width", [1280, 1920])
def test_mobilenet_report_has_no_clipped_column(
    width: int, browser_page: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """At 1280 and 1920 px no table is wider than its box; curve ticks are round; the best epoch is marked."""
    from convwise.models import build

    folder = tmp_path_factory.mktemp(f"wide{width}")
    run = write_run(folder / "run")
    html = folder / "report.html"
    model = build("mobilenet_v1")
    data = write_report(model, (3, 224, 224), html, name="mobilenet_v1", run_dir=run, figures=False)
    page = browser_page["context"].new_page()
    try:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(html.as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=15_000)
        page.locator("#summary-table tbody tr.layer").nth(3).click()  # the explanation with its table
        page.locator("#whatif-details summary").first.click()
        tables = page.evaluate(_OVERFLOW)
        assert len(tables) >= 6
        clipped = [t for t in tables if t["scrolls"] or t["width"] > t["room"] + 1]
        assert clipped == [], clipped
        headers = page.locator("#summary-table thead th").all_inner_texts()
        assert {"% MACs", "FLOPs", "Other ops", "Status"} <= {h.strip(" ▲▼") for h in headers}
        ticks = [float(t) for t in page.locator("#curve-loss svg text.ytick").all_text_contents()]
        step = ticks[1] - ticks[0]
        mantissa = step / 10 ** math.floor(math.log10(step))
        assert any(abs(mantissa - m) < 1e-6 for m in (1, 2, 2.5, 5)), ticks  # 0.05, 0.1 … not 0.494
        assert all(abs(t / step - round(t / step)) < 1e-6 for t in ticks), ticks
        best = page.locator("#curve-loss svg text.best-label").text_content()
        assert best == "best epoch 3"  # the lowest validation loss of write_run's metrics
        assert page.locator("#curve-acc svg line.best").count() == 1
        costly = [r for r in data["summary"]["layers"] if r["macs"] or r["params"]]
        assert page.locator("#layer-costs svg g.layer-row").count() == len(costly)
        keep = os.environ.get("CONVWISE_SCREENSHOT_DIR")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(keep) / f"report-{width}.png"), full_page=True)
    finally:
        page.close()
