"""Scheduled work: the nag ladder and the daily overdue reminder, one tick at a time."""
