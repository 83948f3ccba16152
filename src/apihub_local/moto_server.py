"""``python -m apihub_local.moto_server --port 0``: moto's AWS stand-in as its own process.

Serves moto's WSGI app behind ``SerializedWsgi`` (moto's backends are not thread safe; real
DynamoDB and SQS are linearizable per request) on 127.0.0.1 only. Prints one JSON line
``{"endpoint": "http://127.0.0.1:PORT"}`` once listening, then serves until SIGINT/SIGTERM or until
its parent process goes away (``apihub_local.children`` explains how).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from typing import Any

from apihub_local.children import exit_with_parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apihub_local.moto_server", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    args = parser.parse_args(argv)
    exit_with_parent()

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from apihub_local.moto_lock import SerializedWsgi
    from apihub_local.moto_tuning import cache_moto_module_list, speed_up_backends

    speed_up_backends()  # the same moto fixes the timing simulation uses
    cache_moto_module_list()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log per AWS call
    app = SerializedWsgi(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=MotoRequestHandler)

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"endpoint": f"http://127.0.0.1:{server.server_port}"}), flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
