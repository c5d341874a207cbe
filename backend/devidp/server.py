"""Serving the development identity provider next to parboard: DEVELOPMENT AND TESTS ONLY, never in production.

`parboard demo` runs parboard itself in the foreground; the provider runs in a background thread of the
same process, with its own uvicorn server on its own port (loopback by default).
"""

from __future__ import annotations

import threading
import time

import uvicorn
from litestar import Litestar


class DevIdPServer:
    """`with DevIdPServer(app, port=8001) as server:` serves `app` until the block ends.

    With `port=0` the system picks a free port: then set the issuers to it with
    `dev_idp_of(app).base_url = server.url` before anyone reads the discovery document.
    """

    def __init__(self, app: Litestar, *, host: str = "127.0.0.1", port: int = 8001) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            server_header=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="dev-idp", daemon=True)

    def __enter__(self) -> DevIdPServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                self.server.should_exit = True
                raise RuntimeError("the development identity provider did not start (is its port already in use?)")
            time.sleep(0.02)
        return self

    @property
    def url(self) -> str:
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
