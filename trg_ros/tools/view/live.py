"""Feeding the scene without holding anyone up: the newest frame waits in a slot of one (an
older one still waiting is dropped, never queued), and a thread of its own shows it, at most
``max_rate`` times a second and only while a browser is connected (the newest frame waits
for one, so a browser that connects late still sees it)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from trg_ros.tools.view.scene import Scene, ViewFrame

log = logging.getLogger(__name__)


Offered = ViewFrame | Callable[[], ViewFrame]


class LiveView:
    """Shows offered frames on ``scene``; :meth:`offer` never blocks. A frame may be offered
    as a function that makes it (decodes the image): only the frames shown are made, on the
    view's thread."""

    def __init__(self, scene: Scene, max_rate: float = 15.0) -> None:
        self.scene = scene
        self._period = 1.0 / max_rate
        self._slot: Offered | None = None
        self._cond = threading.Condition()
        self._closed = False
        self.shown = 0
        self.dropped = 0  # replaced in the slot before they were shown
        self._thread = threading.Thread(target=self._run, name="trg_view", daemon=True)
        self._thread.start()

    def offer(self, frame: Offered) -> None:
        with self._cond:
            if self._slot is not None:
                self.dropped += 1
            self._slot = frame
            self._cond.notify()

    def _run(self) -> None:
        last = 0.0
        while True:
            with self._cond:
                # the newest frame waits for a browser (so one that connects late sees it)
                while not self._closed and (self._slot is None or not self.scene.clients()):
                    self._cond.wait(timeout=0.1)
                if self._closed:
                    return
            time.sleep(max(0.0, last + self._period - time.monotonic()))
            with self._cond:
                frame, self._slot = self._slot, None
            last = time.monotonic()
            try:
                self.scene.show(frame() if callable(frame) else frame)
                self.shown += 1
            except Exception:  # a view that fails must not stop what feeds it
                log.exception("the view could not show a frame")

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()
        self.scene.close()
