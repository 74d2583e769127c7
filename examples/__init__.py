"""Runnable examples of soap-async; each module's docstring says how to run it."""
