"""Shared by the Python test servers: stop when the test run that launched them is gone."""

import os
import threading
import time


def exit_with_parent():
    """The launcher passes its pid: exit when it is gone, even if it died without stopping us (kill -9)."""
    parent = int(os.environ.get("TEST_SERVER_PARENT_PID", 0))

    def watch():
        while True:
            time.sleep(1)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(0)

    if parent:
        threading.Thread(target=watch, daemon=True).start()
