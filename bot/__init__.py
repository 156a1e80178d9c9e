"""Followthrough: a Slack bot that turns public complaints into owned cases and kept promises."""

__version__ = "0.1.0"
