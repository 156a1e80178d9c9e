"""How long ``followthrough playground`` takes to give a working page, and how fast a click comes back.

    python bench/playground.py [RUNS]      (default 5 starts)

Each run starts the command as a user would (a new process, a temporary database), waits until the
page answers and the bot has posted a first card for a customer's post sent through the page's own
API, then stops it. Prints the median and worst of each; the target is a working page within 10 s.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

import _repo  # noqa: F401


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, body: dict) -> dict:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})  # noqa: S310 (http://127.0.0.1 only)
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return json.loads(answer.read())


def one_run() -> tuple[float, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--env-file", "/dev/null", "playground", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                urllib.request.urlopen(base, timeout=1).read()
                break
            except OSError:
                if time.monotonic() - started > 60:
                    raise SystemExit("the page never answered") from None
                time.sleep(0.02)
        page = time.monotonic() - started
        post(base + "api/post", {"network": "x", "handle": "dana_k", "text": "@AcmeHelp my refund never came"})
        sent = time.monotonic()
        while True:
            with urllib.request.urlopen(base + "api/state", timeout=5) as answer:  # noqa: S310
                state = json.loads(answer.read())
            if state["channels"][0]["messages"]:
                break
            time.sleep(0.02)
        return page, time.monotonic() - sent
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    pages, cards = zip(*(one_run() for _ in range(runs)), strict=True)
    print(f"page answers after: median {statistics.median(pages):.2f} s, worst {max(pages):.2f} s ({runs} starts)")
    print(f"a customer's post to its card: median {statistics.median(cards):.2f} s, worst {max(cards):.2f} s")
    print(f"page_s={statistics.median(pages):.2f} card_s={statistics.median(cards):.2f}")


if __name__ == "__main__":
    main()
