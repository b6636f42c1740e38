"""Real OAuth 2.0 authorization servers for the integration tests; see README.md and launch.py."""

from .launch import (
    RunningServer,
    ServerStartError,
    approve_device_code,
    obtain_authorization_code,
    pkce_pair,
    start,
)

__all__ = [
    "RunningServer",
    "ServerStartError",
    "approve_device_code",
    "obtain_authorization_code",
    "pkce_pair",
    "start",
]
