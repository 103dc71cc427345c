"""What people see, in a real browser: the article page, the service page on a loopback
port and the evaluation report, opened in headless Chromium (Debian's `chromium`, which
`.ci/run` installs). Screenshots are saved beside each test's files."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import ROOT, run_cli, serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine "
                                "(apt-get install chromium; CI installs it)")
pw = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


class Watched:
    """A page whose console errors and requests outside `allowed` are recorded."""

    def __init__(self, browser: Any, allowed: tuple[str, ...]) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: None if r.url.startswith(allowed) else
                     self.outside.append(r.url))

    def check_clean(self) -> None:
        assert self.errors == [] and self.outside == []


HOSTILE = ("Mayor 'denies' claims\n\nThe mayor denied the claims. <script>window.pwned = 1"
           "</script> was found in a comment.\n\n\"It is <b>nonsense</b>,\" she said. Costs rose 5%.\n")


def test_article_page(browser: Any, trained: Path, tmp_path: Path) -> None:
    src = tmp_path / "hostile.txt"
    src.write_text(HOSTILE)
    page_file = tmp_path / "page.html"
    res = run_cli("predict", str(trained), "--article", str(src), "--format", "html", "--explain",
                  "--output", str(page_file))
    assert res.returncode == 0, res.stderr
    rows = json.loads("[" + ",".join(run_cli("predict", str(trained), "--article", str(src))
                                     .stdout.splitlines()) + "]")
    w = Watched(browser, ("file:", "data:"))
    w.page.goto(page_file.as_uri())
    spans = w.page.query_selector_all(".sk-s")
    assert len(spans) == len(rows)
    for span, row in zip(spans, rows):
        assert span.get_attribute("data-index") == str(row["index"])
        assert span.get_attribute("data-start") == str(row["start"])
        assert span.get_attribute("data-end") == str(row["end"])
        assert span.get_attribute("data-labels") == " ".join(row["labels"])
        assert span.inner_text() == row["text"]
    assert w.page.inner_text("h1").startswith("Mayor 'denies' claims")
    # untrusted text is text: the <script> shows, never runs
    assert w.page.evaluate("window.pwned") is None
    assert "<script>window.pwned = 1</script>" in w.page.inner_text("#sk-article")
    assert w.page.query_selector("#sk-article script, #sk-article b") is None
    assert "default" in w.page.inner_text("#sk-bar")  # the model's name
    # every label has a legend entry; hiding one hides its chips and its colour
    labelled = [l for r in rows for l in r["labels"]]
    assert labelled, "the hostile article should get some labels"
    label = labelled[0]
    chip = f'.sk-chip[data-label="{label}"]'
    assert w.page.is_visible(chip)
    w.page.screenshot(path=str(tmp_path / "article.png"), full_page=True)
    w.page.click(f'label[for="sk-show-{label}"]')
    assert not w.page.is_visible(chip)
    w.page.click(f'label[for="sk-show-{label}"]')
    assert w.page.is_visible(chip)
    # scores on keyboard focus, the n-grams on Enter
    w.page.focus(f'.sk-s[data-labels~="{label}"]')
    assert w.page.is_visible("#sk-tip") and label in w.page.inner_text("#sk-tip")
    w.page.keyboard.press("Enter")
    assert f"Why {label}:" in w.page.inner_text("#sk-details")
    w.check_clean()
    assert (tmp_path / "article.png").stat().st_size > 10_000


def test_pages_for_an_article_collection(browser: Any, trained: Path, tmp_path: Path) -> None:
    out = tmp_path / "pages"
    res = run_cli("predict", str(trained), "--articles", str(ROOT / "data/articles"),
                  "--format", "html", "--output", str(out))
    assert res.returncode == 0, res.stderr
    w = Watched(browser, ("file:", "data:"))
    w.page.goto((out / "index.html").as_uri())
    links = w.page.query_selector_all("table.sk-index a")
    assert len(links) == len(list((ROOT / "data/articles").glob("*.txt")))
    links[0].click()
    w.page.wait_for_selector(".sk-s")
    assert w.page.query_selector('.sk-s[data-index="0"]') is not None
    w.check_clean()


def _until(page: Any, expression: str, timeout: float = 15) -> None:
    """Wait for a JS condition. (Playwright's wait_for_function evaluates strings with
    eval, which the pages' Content-Security-Policy rightly forbids.)"""
    end = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < end, f"timed out waiting for {expression}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def service(trained: Path) -> Iterator[str]:
    with serving(trained) as base:
        yield base


def test_service_page(browser: Any, service: str, tmp_path: Path) -> None:
    w = Watched(browser, (service,))
    w.page.goto(service + "/")
    assert "Label an article" in w.page.inner_text("body")
    w.page.fill("#sk-text", HOSTILE)
    w.page.click("button[type=submit]")
    w.page.wait_for_selector(".sk-s")
    shown = [s.inner_text() for s in w.page.query_selector_all(".sk-s")]
    req = urllib.request.Request(service + "/predict", data=json.dumps({"article": HOSTILE}).encode(),
                                 headers={"Content-Type": "application/json"})
    api = json.loads(urllib.request.urlopen(req, timeout=10).read())
    assert shown == [s["text"] for s in api["sentences"]]
    assert [s.get_attribute("data-labels") for s in w.page.query_selector_all(".sk-s")] == \
        [" ".join(s["labels"]) for s in api["sentences"]]
    assert w.page.evaluate("window.pwned") is None
    w.page.screenshot(path=str(tmp_path / "service.png"), full_page=True)
    # an HTML file, opened from disk, is extracted by the service
    w.page.set_input_files("#sk-file", str(ROOT / "tests/fixtures/html/salon.com.emissions.html"))
    _until(w.page, "document.getElementById('sk-text').value.length > 1000")
    w.page.click("button[type=submit]")
    _until(w.page, "(document.querySelector('#sk-article h1') || {innerText: ''})"
                   ".innerText.includes('emissions')")
    assert "<" not in w.page.inner_text("#sk-article")
    # the API description, served by the service itself
    w.page.goto(service + "/docs")
    w.page.wait_for_selector(".opblock-post")
    assert "/predict" in w.page.inner_text(".opblock-post")
    w.check_clean()


def test_evaluation_report(browser: Any, workdir: Path, trained: Path, tmp_path: Path) -> None:
    built = run_cli("build", "configs/default.yaml", "--set", f"output.dir={tmp_path}", cwd=workdir)
    out = tmp_path / "report"
    res = run_cli("evaluate", str(trained), built.stdout.strip(), "--split", "test",
                  "--bootstrap", "50", "--against", str(trained), "--output", str(out), cwd=workdir)
    assert res.returncode == 0, res.stderr
    w = Watched(browser, ("file:", "data:"))
    w.page.goto((out / "report.html").as_uri())
    text = w.page.inner_text("body")
    assert text.startswith("Evaluation of default " + trained.name) and "test split" in text
    widths = w.page.evaluate("Array.from(document.images).map(i => i.naturalWidth)")
    assert len(widths) == 4 and all(x > 500 for x in widths)  # pr, confusion, densities, comparison
    assert "no significant difference" in text  # against itself
    w.page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    w.check_clean()
