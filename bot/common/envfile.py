"""Reading a .env file under the real environment (the environment wins, as twelve-factor apps expect)."""

from __future__ import annotations

from pathlib import Path

from dotenv import dotenv_values


def load_dotenv_into(env: dict[str, str], path: Path | None) -> None:
    """Merge a .env file under the real environment: values already in ``env`` win."""
    if path is None or not path.is_file():
        return
    for key, value in dotenv_values(path).items():
        if value is not None and key not in env:
            env[key] = value
