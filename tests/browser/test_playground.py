"""The playground in a real headless browser (Debian's Chromium and its driver, through Selenium):
a teammate claims a card, records a promise, skips the bot's clock to the first nag, and sees the
nag in their DMs — by clicking in the page, as a person would, never by calling the bot.

Skipped with its reason when Chromium or chromedriver is missing; ``.ci/run`` installs them and
passes ``--require-browser``, which turns the skip into a failure.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.devtools.playground import Playground

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    if not (CHROMIUM and DRIVER):
        why = "Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        if request.config.getoption("--require-browser"):
            pytest.fail(f"--require-browser: {why}")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def playground() -> Iterator[Playground]:
    pg = Playground()
    pg.start()
    yield pg
    pg.stop()


def until(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll the page (the page itself polls the bot): a browser has no event to wait on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except Exception:  # an element replaced while we read it: read again
            found = None
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"the page never showed {what}")


def _text_with(driver: Any, word: str) -> str | None:
    from selenium.webdriver.common.by import By

    text = driver.find_element(By.ID, "feed").text
    return text if word in text else None


def press(driver: Any, text: str) -> None:
    """Find the button and click it — again if the page redrew it in between (it polls the bot, and
    a card redrawn between the find and the click is a stale element: CI failed on it once)."""

    def attempt() -> bool | None:
        found = button(driver, text)
        if found is None:
            return None
        found.click()
        return True

    until(attempt, text)


def button(driver: Any, text: str) -> Any:
    from selenium.webdriver.common.by import By

    for b in driver.find_elements(By.TAG_NAME, "button"):
        if b.is_displayed() and b.text.strip() == text:
            return b
    return None


def test_claim_promise_skip_to_the_first_nag_and_see_it(browser: Any, playground: Playground, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    started = time.monotonic()
    browser.get(playground.url)
    until(lambda: browser.find_element(By.ID, "viewer").find_elements(By.TAG_NAME, "option"), "the teammates")
    browser.find_element(By.ID, "post-send").click()  # the sample complaint in the form
    until(lambda: "Complaint #1" in browser.find_element(By.ID, "feed").text, "the complaint's card")

    press(browser, "Claim")
    until(lambda: "Claimed by @Alice Moreau" in browser.find_element(By.ID, "feed").text, "the claim on the card")

    press(browser, "Promise")
    form = until(
        lambda: browser.find_element(By.ID, "modal") if button(browser, "Record promise") else None, "the form"
    )
    what, when = form.find_elements(By.CSS_SELECTOR, "input[type=text]")[:2]
    what.send_keys("Call you back with the refund status")
    when.send_keys("tomorrow 5pm")
    press(browser, "Record promise")
    until(lambda: _text_with(browser, "Call you back"), "the promise on the card")
    assert not browser.find_element(By.ID, "overlay").is_displayed()

    press(browser, "To the next nag")
    until(lambda: browser.find_element(By.ID, "pane-dm").find_elements(By.CLASS_NAME, "badge"), "a DM")
    browser.find_element(By.ID, "pane-dm").click()
    dm = until(
        lambda: browser.find_element(By.ID, "feed").text if "due" in browser.find_element(By.ID, "feed").text else None,
        "the nag",
    )
    assert "Call you back" in dm
    assert button(browser, "Kept") is not None  # the nag's own buttons, ready to click

    browser.find_element(By.ID, "pane-home").click()  # Slack's app_home_opened; the bot publishes
    until(lambda: _text_with(browser, "Call you back"), "Alice's App Home with her promise")
    browser.save_screenshot(str(tmp_path / "playground.png"))  # to look at when it fails
    print(f"browser walk-through: {time.monotonic() - started:.1f} s")


def test_a_hostile_post_is_shown_as_text_never_run(browser: Any, playground: Playground) -> None:
    """Outside text reaches the page through the bot's cards: markup in it must show as typed."""
    from selenium.webdriver.common.by import By

    hostile = '@AcmeHelp <img src=x onerror="document.title=1"> <script>document.title=2</script> my refund is missing'
    playground.post("x", "mallory", hostile)
    browser.get(playground.url)
    until(lambda: _text_with(browser, "my refund is missing"), "the hostile post's card")
    feed = browser.find_element(By.ID, "feed")
    assert feed.find_elements(By.TAG_NAME, "img") == []
    assert feed.find_elements(By.TAG_NAME, "script") == []
    assert "<img src=x" in feed.text  # shown as the customer typed it
    assert browser.title == "Followthrough playground"
