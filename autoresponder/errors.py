"""Exceptions shared by the delivery path, in a module that costs nothing to import."""


class DatabaseBusy(Exception):
    """The database stayed locked past the busy timeout: a retry later is safe."""
