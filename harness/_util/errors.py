"""The harness's own errors: each message names what is wrong and what would be right."""


class HarnessError(Exception):
    """Base of every error the CLI reports in one line (exit code 2) instead of a traceback."""


class ConfigError(HarnessError, ValueError):
    """A config value, key or component name is invalid."""


class DataError(HarnessError):
    """A data file is missing, unreadable or malformed."""


class CheckpointError(HarnessError):
    """A checkpoint is missing, truncated or belongs to an incompatible config."""


class NumericalError(HarnessError):
    """A computation produced NaN or inf (e.g. sampling from a diverged network)."""


class Interrupted(HarnessError):
    """Ctrl-C during training; the message says where to resume from."""


class MissingExtra(HarnessError):
    """An optional dependency (a pip extra) that this command needs is not installed."""
