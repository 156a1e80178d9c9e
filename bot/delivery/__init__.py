"""Delivery: everything the bot sends anywhere, as stored rows sent later from stored state.

The flow: a domain change writes its delivery rows in the same transaction (``outbox``); a worker
picks the highest-priority row that can go now — its lane has a turn free, and the card it needs,
if any, is posted (both decided in SQL, ``worker``); the row's transport renders it from the current
state and sends it once (``slack``: look before re-sending, metadata carrying our id); the outcome is
stored. Kinds and what each needs are declared once in ``kinds``.
"""
