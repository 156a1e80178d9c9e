"""Local stand-ins for Slack's Web API and X's API, used by the tests and by ``followthrough demo``."""
