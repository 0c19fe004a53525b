"""mmcore's errors: each message says what was wrong and what is accepted or how to fix it."""
from __future__ import annotations


class MMCoreError(Exception):
    """Base of every error mmcore raises on purpose."""


class InputError(MMCoreError, ValueError):
    """The caller's input (image, question, option) cannot be used; nothing is broken."""


class ModelLoadError(MMCoreError, RuntimeError):
    """A model could not be found or loaded; names the model, where it looked, and the fix."""


class PrecisionError(ModelLoadError):
    """The asked precision cannot apply to this model on this device."""


class RequestTimeout(MMCoreError, TimeoutError):
    """A request ran past its time limit; the server keeps serving others."""
