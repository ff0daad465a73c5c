"""The reward server: an ASGI app (`create_app`), its settings and `run_server` (uvicorn).

Importing this package loads no HTTP server; `run_server` and `uvicorn_config` import uvicorn
when called.
"""

from rewardsmith.engine.batcher import MicroBatcher, QueueFullError
from rewardsmith.serve.app import RewardServer, create_app
from rewardsmith.serve.config import ServeConfig
from rewardsmith.serve.server import run_server, uvicorn_config

__all__ = [
    "MicroBatcher",
    "QueueFullError",
    "RewardServer",
    "ServeConfig",
    "create_app",
    "run_server",
    "uvicorn_config",
]
