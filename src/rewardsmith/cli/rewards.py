"""``rewardsmith list``: the registered rewards as a table."""

from __future__ import annotations

from rich.table import Table

from rewardsmith.cli.common import console
from rewardsmith.core.errors import RewardsmithError
from rewardsmith.core.registry import default_registry

__all__ = ["list_command"]


def list_command() -> None:
    """List every registered reward with its kind, version and one-line description."""
    table = Table("reward", "kind", "version", "description")
    for name in default_registry.names():
        try:
            reward = default_registry.get(name)
        except RewardsmithError as exc:
            table.add_row(name, "-", "-", f"[red]unavailable: {exc}[/]")
            continue
        kind = reward.kind + (" (inline)" if reward.inline else "")
        table.add_row(name, kind, reward.version, reward.summary)
    console.print(table)
