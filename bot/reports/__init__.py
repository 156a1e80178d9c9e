"""The lead's view: metrics computed from typed events, the weekly chart, and exports."""
