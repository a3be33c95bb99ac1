"""Drive headless Chromium through the DevTools protocol on a pipe (--remote-debugging-pipe).

No library is needed: Chromium reads commands on its fd 3 and writes replies and events on its
fd 4, one JSON message per NUL-terminated record. Runtime.evaluate runs in the page without
being a page script, so the report's Content-Security-Policy (no script) still holds for the
page's own content.
"""

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND"]


class Browser:
    """One headless Chromium with one page, sized ``width`` x ``height`` CSS pixels."""

    def __init__(self, binary, width, height):
        self.profile = tempfile.mkdtemp(prefix="pf-chromium-")
        to_chrome, self._commands = os.pipe()
        self._events, from_chrome = os.pipe()

        def plumb():
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_chrome, from_chrome)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.proc = subprocess.Popen(  # noqa: S603 - a fixed binary and fixed flags
            [binary, *FLAGS, "--remote-debugging-pipe", "--user-data-dir=" + self.profile, "about:blank"],
            preexec_fn=plumb, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome)
        os.close(from_chrome)
        self._next, self._buffer, self.session = 0, b"", None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=False)

    def _message(self):
        while b"\0" not in self._buffer:
            chunk = os.read(self._events, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        record, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(record)

    def call(self, method, wait_event=None, **params):
        """Send one command; return its result (after ``wait_event`` was seen too, when given)."""
        self._next += 1
        message = dict(id=self._next, method=method, params=params)
        if self.session:
            message["sessionId"] = self.session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        result, seen = None, wait_event is None
        while result is None or not seen:
            reply = self._message()
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError("%s failed: %s" % (method, reply["error"]))
                result = reply["result"]
            seen = seen or reply.get("method") == wait_event
        return result

    def open(self, url):
        """Load ``url`` and wait for its load event."""
        self.call("Page.navigate", wait_event="Page.loadEventFired", url=url)

    def evaluate(self, expression):
        """The JSON value of a JavaScript expression in the page."""
        reply = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in reply:
            raise RuntimeError("evaluation failed: %s" % reply["exceptionDetails"])
        return reply["result"].get("value")

    def screenshot(self, path):
        """Save a PNG of the viewport."""
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))

    def close(self):
        try:
            self.session = None
            self.call("Browser.close")
            self.proc.wait(timeout=30)
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            os.close(self._commands)
            os.close(self._events)
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
