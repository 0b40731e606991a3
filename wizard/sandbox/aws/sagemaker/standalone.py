"""Run the SageMaker app on its own: ``python -m wizard.sandbox.aws.sagemaker.standalone``.

It serves the app on loopback behind :class:`~.dispatch.FrontApp` (other AWS calls go to
``--aws-url``), prints one JSON line ``{"url": ..., "pid": ...}`` when ready, and runs until
SIGTERM or SIGINT. Tests use it to kill the service for real; benchmarks to measure it.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, serve, wait for a signal, shut down."""
    import os

    parser = argparse.ArgumentParser(description="Serve the sandbox's SageMaker app.")
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--aws-url", required=True, help="moto's endpoint, e.g. http://127.0.0.1:5000")
    parser.add_argument("--region", default="eu-west-1")
    parser.add_argument("--delay", type=float, default=None, help="seconds per status phase")
    parser.add_argument("--faults-dir", type=Path, default=None,
                        help="directory holding faults.json")
    args = parser.parse_args(argv)

    from .app import make_sagemaker_app
    from .dispatch import FrontApp, serve

    app = make_sagemaker_app(args.data_dir, args.aws_url, args.region, args.faults_dir,
                             delay=args.delay)
    server, url = serve(FrontApp(app, args.aws_url))
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    print(json.dumps({"url": url, "pid": os.getpid()}), flush=True)
    done.wait()
    server.shutdown()
    app.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
