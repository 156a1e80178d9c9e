"""Where posts come from: X (mentions, search, stream) and replay files. Each yields ``Post``."""
