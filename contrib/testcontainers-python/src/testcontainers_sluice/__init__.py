"""A testcontainers module for Sluice, the Kafka-wire-protocol compatible broker.

    from testcontainers_sluice import SluiceContainer

    with SluiceContainer() as sluice:
        bootstrap = sluice.get_bootstrap_server()   # "127.0.0.1:PORT"

The container runs with host networking and listens on port 0 (Kafka and HTTP),
so parallel tests never collide and nothing is mapped: start() waits for the
broker's ready line (`listening on HOST:PORT`, printed once every listener is
bound and the broker serves) and reads the real port from it. Ephemeral (nothing
on disk) unless persistent=True. Options are Sluice's SLUICE_* variables
(with_option("default-partitions", "3")) or the KAFKA_* ones of Kafka's images.
"""
import re
from typing import Optional

from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

__all__ = ["SluiceContainer"]

_READY = re.compile(r"^listening on (\S+)$", re.MULTILINE)
_HTTP = re.compile(r"^http listening on (\S+)$", re.MULTILINE)


class SluiceContainer(DockerContainer):
    """Sluice's image (`sluice:latest` unless told), started on the host network."""

    def __init__(self, image: str = "sluice:latest", persistent: bool = False, **kwargs) -> None:
        super().__init__(image, **kwargs)
        self.with_env("SLUICE_LISTEN", "127.0.0.1:0")
        self.with_env("SLUICE_HTTP_LISTEN", "127.0.0.1:0")
        if not persistent:
            self.with_env("SLUICE_EPHEMERAL", "1")
        self._kwargs["network_mode"] = "host"
        self.waiting_for(LogMessageWaitStrategy(_READY))
        self._bootstrap: Optional[str] = None
        self._http: Optional[str] = None

    def with_option(self, name: str, value: str) -> "SluiceContainer":
        """Sets one of Sluice's options by name, as its SLUICE_* variable."""
        return self.with_env("SLUICE_" + name.replace("-", "_").upper(), value)

    def start(self) -> "SluiceContainer":
        super().start()
        stdout = self.get_logs()[0].decode(errors="replace")
        ready = _READY.search(stdout)
        if ready is None:
            raise RuntimeError(f"no ready line in the container's output: {stdout}")
        self._bootstrap = ready.group(1)
        http = _HTTP.search(stdout)
        self._http = http.group(1) if http else None
        return self

    def get_bootstrap_server(self) -> str:
        """HOST:PORT for a Kafka client's bootstrap.servers."""
        if self._bootstrap is None:
            raise RuntimeError("the container is not started")
        return self._bootstrap

    def get_http_address(self) -> Optional[str]:
        """HOST:PORT of the HTTP server (/readyz, admin), unless turned off."""
        return self._http
