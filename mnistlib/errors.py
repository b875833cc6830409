"""The one exception type every mnistlib failure derives from (the CLI prints it as one line)."""


class MnistlibError(Exception):
    """A failure with a message meant for the user: the CLI prints it on one line and exits 2."""
