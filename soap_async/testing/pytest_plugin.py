"""pytest plugin of soap-async (registered through the `pytest11` entry point)."""
