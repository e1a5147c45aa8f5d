"""The dashboard in a real browser: Debian's headless Chromium driven by selenium.

The page shows the fake's rooms and follows them as events arrive (table, feed and its
room filter, charts); the overlay shows a gift; a page opened with ``?token=`` works on
its cookie and never shows the token.  Skipped with a reason where Chromium or its driver
is missing (``apt-get install chromium chromium-driver``), a failure under ``CI=true``.

``python tests/test_dashboard_browser.py docs/dashboard.png`` takes the README's
screenshot from a made-up evening of eight rooms.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # when run as a script

from fastlive.dashboard import Dashboard
from fastlive.testing import FakeTikTok
from test_dashboard import (  # the shared script of the dashboard's tests
    DIAMONDS_PER_ROOM,
    ROOMS,
    VIEWERS,
    add_rooms,
    go_live,
    monitor_for,
)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 30.0
"""Seconds a page gets to show something (a hang guard, not a timing assertion)."""


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e .[test])"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.exists(path) or shutil.which(Path(path).name)):
            return f"{path} not found (apt-get install chromium chromium-driver)"
    return None


def make_driver(width: int = 1400, height: int = 900) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    driver_path = CHROMEDRIVER if os.path.exists(CHROMEDRIVER) else shutil.which("chromedriver")
    return webdriver.Chrome(service=Service(driver_path), options=options)


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    reason = _missing()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the browser tests: {reason}")
        pytest.skip(reason)
    browser = make_driver()
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
async def fake():
    async with FakeTikTok() as server:
        yield server


async def until(driver: Any, condition: Any, timeout: float = WAIT) -> Any:
    """``WebDriverWait(driver).until(condition)`` off the event loop (which serves the page)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(
        driver, timeout, poll_frequency=0.05, ignored_exceptions=[StaleElementReferenceException]
    )
    return await asyncio.to_thread(wait.until, condition)


def table(driver: Any) -> dict[str, dict[str, str]]:
    """The rooms table as shown, read in one go (the page redraws it every refresh)."""
    return driver.execute_script(
        """
        const out = {};
        for (const tr of document.querySelectorAll('#rooms tbody tr[data-room]')) {
          const row = {};
          for (const td of tr.cells) if (td.className) row[td.className.split(' ').pop()] = td.innerText;
          out[tr.dataset.room] = row;
        }
        return out;
        """
    )


def cell(driver: Any, room: str, column: str) -> str:
    return table(driver).get(room, {}).get(column, "")


def feed(driver: Any, visible_only: bool = True) -> list[tuple[str, str, str]]:
    """The feed's lines as (room, kind, text), newest first."""
    from selenium.webdriver.common.by import By

    out = []
    for li in driver.find_elements(By.CSS_SELECTOR, "#feed li"):
        if visible_only and not li.is_displayed():
            continue
        out.append((li.get_attribute("data-room"), li.get_attribute("data-kind"), li.text))
    return out


async def test_the_page_shows_the_rooms_and_follows_their_events(fake, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    add_rooms(fake, interval=0.05)
    monitor = monitor_for(fake)
    async with monitor, Dashboard(monitor, port=0, sample_interval=0.2) as board:
        await asyncio.to_thread(driver.get, board.url + "?refresh=250")
        await until(driver, lambda d: list(table(d)) == ["@dash0", "@dash1", "@dash2"])
        await until(driver, lambda d: d.find_element(By.ID, "link").text == "live")
        go_live(fake)
        for i in range(ROOMS):
            await until(
                driver,
                lambda d, i=i: (
                    cell(d, f"@dash{i}", "diamonds") == str(DIAMONDS_PER_ROOM)
                    and cell(d, f"@dash{i}", "viewers") == f"{VIEWERS[i]:,}"
                ),
            )
        await until(driver, lambda d: len(feed(d)) == ROOMS * (4 + 2 + 1))
        lines = feed(driver)
        assert {line[0] for line in lines} == {"@dash0", "@dash1", "@dash2"}
        chats = [text for _, kind, text in lines if kind == "chat"]
        assert len(chats) == 4 * ROOMS and all("Alice A" in t and "hello" in t for t in chats)
        gifts = sorted(text.split("sent ", 1)[1] for _, kind, text in lines if kind == "gift")
        assert gifts == sorted(["GG x1 (10 diamonds)", "Rose x3 (3 diamonds)"] * ROOMS)
        assert sum(kind == "follow" for _, kind, _ in lines) == ROOMS
        assert driver.find_element(By.ID, "sum-diamonds").text == str(DIAMONDS_PER_ROOM * ROOMS)
        # the feed's room filter
        Select(driver.find_element(By.ID, "feed-room")).select_by_value("@dash2")
        await until(driver, lambda d: {line[0] for line in feed(d)} == {"@dash2"})
        assert len(feed(driver)) == 4 + 2 + 1
        Select(driver.find_element(By.ID, "feed-room")).select_by_value("")
        await until(driver, lambda d: len(feed(d)) == ROOMS * 7)
        # the charts drew lines: some pixel of the viewers chart is neither empty nor grid
        await until(driver, lambda d: _chart_has_line(d, "chart-viewers"))
        assert driver.find_elements(By.CSS_SELECTOR, "#legend li")


def _chart_has_line(driver: Any, canvas_id: str) -> bool:
    return bool(
        driver.execute_script(
            """
            const c = document.getElementById(arguments[0]);
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 0; i < data.length; i += 4) {
              const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
              if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 60) return true;
            }
            return false;
            """,
            canvas_id,
        )
    )


async def test_the_overlay_shows_a_gift_and_the_chat(fake, driver):
    from selenium.webdriver.common.by import By

    add_rooms(fake, count=2, interval=0.05)
    monitor = monitor_for(fake, rooms=2)
    async with monitor, Dashboard(monitor, port=0) as board:
        await asyncio.to_thread(driver.get, board.url + "overlay/@dash1?seconds=60")
        await until(driver, lambda d: d.execute_script("return document.readyState") == "complete")
        await until(driver, lambda _: board.hub.subscribers == 1)
        go_live(fake, 2)
        alert = await until(driver, lambda d: d.find_element(By.ID, "alert").is_displayed() and d)
        alert = driver.find_element(By.ID, "alert")
        assert driver.find_element(By.ID, "alert-who").text == "Bob B"
        assert "GG x1" in driver.find_element(By.ID, "alert-what").text
        lines = await until(
            driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#chat li")) == 4 and d
        )
        lines = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#chat li")]
        assert lines == [f"Alice A hello {i}" for i in range(4)]
        assert alert.get_attribute("data-gift") == "GG"  # alerts queue: GG first, then Rose x3


async def test_a_page_opened_with_the_token_works_and_never_shows_it(fake, driver):
    from selenium.webdriver.common.by import By

    add_rooms(fake, count=1)
    monitor = monitor_for(fake, rooms=1)
    token = "browser-t0ken-9f2c"
    async with monitor, Dashboard(monitor, "0.0.0.0", 0, token=token) as board:
        base = f"http://127.0.0.1:{board.port}/"
        await asyncio.to_thread(driver.get, base + "?token=" + token)
        await until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#rooms tbody tr"))
        await until(driver, lambda d: d.find_element(By.ID, "link").text == "live")
        assert token not in driver.current_url  # the script took it out of the address bar
        assert token not in driver.page_source
        go_live(fake, 1)
        await until(driver, lambda d: cell(d, "@dash0", "diamonds") == str(DIAMONDS_PER_ROOM))
        driver.delete_all_cookies()


# -- the README's screenshot ------------------------------------------------------------


async def _screenshot(path: Path) -> None:
    """Eight made-up rooms with steady traffic, the page after a minute or so of it."""
    from fastlive.testing import chat, gift, make_user, room_user_seq, social_follow

    names = ["sunny.otter", "midnight.chef", "pixel.knight", "lofi.lena", "gym.rat.ray",
             "cat.cafe", "retro.racer", "dj.nova"]  # fmt: skip
    base = 7_400_000_000_000_500_000
    users = [make_user(7_300_000_000_000_100_000 + i, n.title(), n) for i, n in enumerate(
        ["Mia", "Leo", "Ava", "Noah", "Zoe", "Kai", "Ivy", "Max", "Ruby", "Finn"])]  # fmt: skip
    lines = ["hello from Lisbon!", "this song is great", "first time here", "gg!!", "lol",
             "how long have you been streaming?", "love the setup", "<3 <3 <3"]  # fmt: skip
    async with FakeTikTok() as fake:
        for r, name in enumerate(names):
            rid = base + r
            frames = []
            viewers = 300 + 900 * ((r * 7) % 5)
            for n, step in enumerate(range(240), 1):
                u = users[(step + r) % len(users)]
                mid = r * 100_000 + n
                if step % 9 == 4:
                    frames.append([("WebcastGiftMessage", gift(6064, "GG", 10 + r * 5, 2, u,
                                    msg_id=mid, room_id=rid), mid)])  # fmt: skip
                elif step % 23 == 11:
                    frames.append([("WebcastSocialMessage", social_follow(u, msg_id=mid,
                                    room_id=rid), mid)])  # fmt: skip
                elif step % 6 == 0:
                    viewers += ((step * 37 + r * 11) % 90) - 30
                    frames.append([("WebcastRoomUserSeqMessage", room_user_seq(viewers,
                                    msg_id=mid, room_id=rid), mid)])  # fmt: skip
                else:
                    text = lines[(step * 3 + r) % len(lines)]
                    frames.append([("WebcastChatMessage", chat(text, u, msg_id=mid,
                                    room_id=rid), mid)])  # fmt: skip
            fake.add_room(name, room_id=rid, frames=frames, live=r != 6,
                          interval=0.08 + 0.02 * (r % 3))  # fmt: skip
        from fastlive.monitor import Monitor
        from fastlive.monitor.limits import SignLimiter

        monitor = Monitor(
            [f"@{n}" for n in names],
            settings=fake.settings(connect="signed"),
            poll_interval=0.5,
            sign_limiter=SignLimiter(rate=200, burst=20),
        )
        async with monitor, Dashboard(monitor, port=0, sample_interval=0.5) as board:
            driver = make_driver(1440, 1000)
            try:
                await asyncio.to_thread(driver.get, board.url)
                await asyncio.sleep(21)
                await asyncio.to_thread(driver.save_screenshot, str(path))
            finally:
                driver.quit()


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/dashboard.png")
    asyncio.run(_screenshot(target))
    print(target)
