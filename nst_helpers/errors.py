"""One small exception hierarchy: every user error is an `NSTError` with a one-line message."""


class NSTError(Exception):
    """Base class for errors a user can fix (bad input, missing weights, bad parameter)."""


class ImageError(NSTError):
    """An image could not be loaded or saved."""


class WeightsError(NSTError):
    """Network weights could not be found, downloaded or verified."""


class LayerError(NSTError, KeyError):
    """An unknown layer name, or an image too small for the requested layers."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class ParameterError(NSTError, ValueError):
    """A parameter is out of range or of the wrong kind."""


class ResourceError(NSTError):
    """A run would not fit in the memory of its device."""
