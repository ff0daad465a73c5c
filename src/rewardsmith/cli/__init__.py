"""The ``rewardsmith`` command: the only package that imports typer and rich.

One module per command or command group, each thin over library functions that return data
(or report progress through a callback): `root` builds the app, `common` holds what they share.
Library packages print nothing; what a user sees is drawn here.
"""

from rewardsmith.cli.root import app, main

__all__ = ["app", "main"]
