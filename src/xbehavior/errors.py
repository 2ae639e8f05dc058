"""User-facing errors: one line that names what is wrong and how to fix it."""


class XBehaviorError(Exception):
    """An error caused by the user's input or settings, shown without a traceback.

    The message must name the file, row or column at fault and say how to fix it.
    """


class DataError(XBehaviorError):
    """Input data cannot be used as given (missing file, wrong columns, bad values)."""


class ConfigError(XBehaviorError):
    """A setting is unknown or out of range."""
