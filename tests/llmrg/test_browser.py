"""Neo4j Browser for real: headless Chromium (Debian's chromium and chromium-driver, driven by Selenium) opens
`/browser/`, logs in, sets a library query's parameters the way the guide says and runs the query. The result
counts are read from what Browser shows, and the screenshots are kept as test artifacts under the test state
folder (`.llmrg/test/artifacts/`)."""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

import cypher
from core.settings import Settings
from llmrg import browser as browser_setup
from tests.conftest import run_cli
from tests.query_fixture import DATASET

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 60.0


@pytest.fixture
def chromium() -> Iterator[WebDriver]:
    if not (Path(CHROMIUM).is_file() and shutil.which(CHROMEDRIVER)):
        pytest.fail(f"the Browser test needs {CHROMIUM} and {CHROMEDRIVER} (Debian: chromium chromium-driver)")
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    # An explicit driver path: Selenium Manager would otherwise try to download one.
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class BrowserSession:
    """The few things a person does in Neo4j Browser: log in, type a command, run it, read the result."""

    def __init__(self, driver: WebDriver, settings: Settings) -> None:
        self.driver = driver
        self.settings = settings

    def wait(self) -> WebDriverWait[WebDriver]:
        """Polls until a condition holds. Browser re-renders frames while a query streams, so an element found
        one moment can be gone the next: that only means "not yet", like an element not found at all."""
        return WebDriverWait(self.driver, WAIT_S, ignored_exceptions=(StaleElementReferenceException,))

    def log_in(self, url: str | None = None) -> None:
        """Fill in the password and connect; a second attempt (after a reload) is allowed, with a warning and the
        first attempt's screenshot kept."""
        for attempt in (1, 2):
            self.driver.get(url or browser_setup.open_url(self.settings))
            password = self.wait().until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=password]"))
            # Enter submits the form; a click on Connect can land on a banner still fading out over it.
            password.send_keys(self.settings.resolved_neo4j_password() + Keys.ENTER)
            try:
                self.wait().until(
                    lambda d: "Connected to Neo4j" in d.find_element(By.CSS_SELECTOR, "[data-testid=main]").text
                )
                return
            except TimeoutException:
                shown = self.driver.find_element(By.CSS_SELECTOR, "body").text[:2000]
                screenshot = self.screenshot(f"browser-login-{attempt}")
                warnings.warn(f"Browser login attempt {attempt} failed; see {screenshot}", stacklevel=1)
        pytest.fail(f"Browser did not connect in two attempts; last screen:\n{shown}")

    def run(self, command: str) -> WebElement:
        """Type `command` into the editor, run it, and return its result frame once Browser has finished it."""
        editor = self.driver.find_element(By.CSS_SELECTOR, "[data-testid=activeEditor] textarea")
        editor.send_keys(command)
        self.press_run()
        try:
            return self.wait().until(lambda d: self._finished_frame(command))
        except TimeoutException:
            frames = self.driver.find_elements(By.CSS_SELECTOR, "[data-testid=frame]")
            pytest.fail(
                f"Browser did not finish {command!r} within {WAIT_S:.0f} s; newest frame reads:\n"
                f"{frames[0].text[:3000] if frames else None}\nscreenshot {self.screenshot('browser-timeout')}"
            )

    def press_run(self) -> None:
        """The editor's Run button, clicked from script: a notification sliding in can cover it for a moment."""
        button = self.driver.find_element(By.CSS_SELECTOR, "[data-testid=editor-Run]")
        self.driver.execute_script("arguments[0].click()", button)

    def _finished_frame(self, command: str) -> WebElement | None:
        # The newest frame of this command; not simply the newest frame, since the post-connect `:style` frame
        # can land after a command typed right after logging in.
        frames = self.driver.find_elements(By.CSS_SELECTOR, "[data-testid=frame]")
        mine = [
            f for f in frames if f.find_element(By.CSS_SELECTOR, "[data-testid=frameCommand]").text.strip() == command
        ]
        if not mine:
            return None
        newest = mine[0]
        if command.startswith(":"):
            return newest
        # A table ends with "Started streaming N records ... completed after"; a graph shows its overview.
        status = newest.find_elements(By.CSS_SELECTOR, "[data-testid=frameStatusbar], [data-testid=vizInspector]")
        return newest if status and ("completed after" in status[0].text or "Overview" in status[0].text) else None

    def overview(self, frame: WebElement) -> dict[str, str]:
        """A graph frame's overview: label or relationship type -> the count Browser shows, e.g. "STEP (7)".
        Read once the relationship types are listed (they render after the labels)."""
        selector = "[data-testid^=property-details-overview-]"
        self.wait().until(
            lambda d: frame.find_elements(By.CSS_SELECTOR, "[data-testid^=property-details-overview-relationship]")
        )
        entries = frame.find_elements(By.CSS_SELECTOR, selector)
        return {str(entry.get_attribute("data-testid")).rsplit("-", 1)[1]: entry.text for entry in entries}

    def drawn_text(self, frame: WebElement, captions: tuple[str, ...]) -> str:
        """The text of a graph frame's drawing once every caption in `captions` is on it. The drawing fills in
        after the overview does (on a loaded machine, seconds later), so reading it at once can find it empty.
        A long caption wraps over several <text> lines, so they are read together."""

        def text() -> str:
            return " ".join(t.text for t in frame.find_elements(By.CSS_SELECTOR, "svg text") if t.text)

        def complete(d: WebDriver) -> str | None:
            now = text()
            return now if all(caption in now for caption in captions) else None

        try:
            return self.wait().until(complete)
        except TimeoutException:
            pytest.fail(f"the drawing lacks one of {captions} after {WAIT_S:.0f} s; it reads {text()!r}")

    def records_shown(self, frame: WebElement) -> str:
        """The status line of the frame's table view ("Started streaming N records ...")."""
        table_tab = frame.find_element(By.CSS_SELECTOR, "[data-testid=cypherFrameSidebarTable]")
        self.driver.execute_script("arguments[0].click()", table_tab)
        try:
            status = self.wait().until(
                lambda d: frame.find_element(By.CSS_SELECTOR, "[data-testid=frameStatusbar]").text or None
            )
        except TimeoutException:
            pytest.fail(f"no table status line within {WAIT_S:.0f} s; screenshot {self.screenshot('browser-timeout')}")
        return status

    def screenshot(self, name: str) -> Path:
        folder = self.settings.paths.state_dir / "artifacts"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        assert self.driver.save_screenshot(str(path)), f"no screenshot written to {path}"
        return path


def one_line(name: str) -> str:
    """A library query as a person pastes it; one line, because Enter in Browser's editor runs the statement."""
    return " ".join(cypher.load(f"queries/{name}").split())


@pytest.mark.usefixtures("fixture_graph")
def test_browser_runs_a_library_query_and_draws_the_reasoning_graph(services: Settings, chromium: WebDriver) -> None:
    session = BrowserSession(chromium, services)
    session.log_in()
    for command in browser_setup.parameter_commands({"dataset": DATASET, "user": 1}).splitlines():
        session.run(command)

    table = session.run(one_line("chains_for_user"))
    status = table.find_element(By.CSS_SELECTOR, "[data-testid=frameStatusbar]").text
    assert status.startswith("Started streaming 3 records"), status
    assert session.screenshot("browser-chains_for_user").stat().st_size > 10_000

    drawing = session.run(one_line("reasoning_graph"))
    # User 1, its 3 accepted chains and their 5 items; 3 chain links, 7 steps and 1 imagined item.
    overview = session.overview(drawing)
    assert {label: overview[label] for label in ("User", "Chain", "Item")} == {
        "User": "User (1)",
        "Chain": "Chain (3)",
        "Item": "Item (5)",
    }
    assert {kind: overview[kind] for kind in ("HAS_CHAIN", "STEP", "IMAGINED")} == {
        "HAS_CHAIN": "HAS_CHAIN (3)",
        "STEP": "STEP (7)",
        "IMAGINED": "IMAGINED (1)",
    }
    # The style applied on connection (browser.post_connect_cmd): item captions are titles, and the links of a
    # chain carry their reasons.
    session.drawn_text(drawing, ("Toy Story", "Star Wars", "Aliens", "sequel", "same saga"))
    assert session.screenshot("browser-reasoning_graph").stat().st_size > 10_000
    assert session.records_shown(drawing).startswith("Started streaming 8 records")


@pytest.mark.usefixtures("fixture_graph")
def test_the_query_link_opens_browser_with_parameters_and_query_ready(services: Settings, chromium: WebDriver) -> None:
    parameters = ("--param", f"dataset={DATASET}", "--param", "user=2")
    result = run_cli("query", "chains_for_user", *parameters, "--browser", "--json")
    assert result.returncode == 0, result.stderr
    link = json.loads(result.stdout)
    session = BrowserSession(chromium, services)
    session.log_in(link["url"])
    session.press_run()

    def listed(d: WebDriver) -> list[WebElement] | None:  # the three statements, once their text has rendered
        titles = [s for s in d.find_elements(By.CSS_SELECTOR, "[data-testid=multi-statement-list-title]") if s.text]
        return titles if len(titles) == 3 else None

    statements = session.wait().until(listed)
    assert [statement.text for statement in statements[:2]] == [f':param dataset => "{DATASET}"', ":param user => 2"]
    chromium.execute_script("arguments[0].click()", statements[2])  # an overlay intercepts a real click

    def finished(d: WebDriver) -> str | None:  # "INFO ... waiting for its turn" until the statement has run
        content = d.find_elements(By.CSS_SELECTOR, "[data-testid=multi-statement-list-content]")
        return content[0].text if content and content[0].text.startswith(("SUCCESS", "ERROR")) else None

    outcome = session.wait().until(finished)
    assert outcome.startswith("SUCCESS"), outcome
    session.screenshot("browser-query-link")
    # The link left the parameters set: the query alone now shows user 2's two chains.
    table = session.run(one_line("chains_for_user"))
    status = table.find_element(By.CSS_SELECTOR, "[data-testid=frameStatusbar]").text
    assert status.startswith("Started streaming 2 records"), status
