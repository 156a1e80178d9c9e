"""What ``slack-manifest.yml`` asks Slack for, as the code needs it.

``followthrough check`` compares the scopes Slack granted (every Web API answer names them in its
``x-oauth-scopes`` header) with these: an installation made before a scope was added (``files:write``
for the report's chart) works until the first call that needs it, and then fails where nobody
looks. The Slack stand-in grants exactly these; a test keeps them equal to the manifest's list.
"""

from __future__ import annotations

MANIFEST_SCOPES = frozenset(
    {
        "chat:write",
        "commands",
        "channels:history",
        "groups:history",
        "im:history",
        "channels:read",
        "groups:read",
        "usergroups:read",
        "users:read",
        "im:write",
        "files:write",
    }
)
"""The bot scopes ``slack-manifest.yml`` asks for."""
