"""A message body flowing from one socket to another, with backpressure.

The producer (a parser callback) calls ``feed``/``finish``/``fail``; the consumer awaits
``read``. When more than ``HIGH_WATER`` bytes wait unread the producer's socket is paused,
and resumed below ``LOW_WATER``, so a 1 GiB body costs constant memory.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from tether.proxy.codec.http1 import Headers

HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024


class BodyError(Exception):
    """The body cannot be completed: its sender went away or broke the framing."""


class Body:
    """A stream of body chunks; ``read()`` returns ``b""`` at the end.

    ``length`` is the declared Content-Length (None when chunked or close-delimited);
    ``chunked`` says whether the sender used chunked framing; ``trailers`` is set once
    the end is reached. ``on_first_read`` runs once when a consumer first waits for
    data that has not arrived (used to answer ``Expect: 100-continue`` lazily).
    """

    __slots__ = (
        "_buffered",
        "_chunks",
        "_error",
        "_waiter",
        "chunked",
        "done",
        "length",
        "on_first_read",
        "pause",
        "paused",
        "received",
        "resume",
        "trailers",
    )

    def __init__(
        self,
        length: int | None,
        chunked: bool,
        pause: Callable[[], None] | None = None,
        resume: Callable[[], None] | None = None,
    ) -> None:
        self.length = length
        self.chunked = chunked
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self.done = False
        self.received = 0
        self.trailers: Headers | None = None
        self.pause = pause
        self.resume = resume
        self.paused = False
        self.on_first_read: Callable[[], None] | None = None

    @classmethod
    def complete(cls, data: bytes) -> Body:
        """Return a body already fully known (an empty one when ``data`` is empty)."""
        body = cls(len(data), False)
        if data:
            body._chunks.append(data)
            body._buffered = len(data)
            body.received = len(data)
        body.done = True
        return body

    # producer side -------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Queue ``data`` for the consumer; pauses the producer above the high-water mark."""
        self._chunks.append(data)
        self._buffered += len(data)
        self.received += len(data)
        if self._buffered > HIGH_WATER and not self.paused and self.pause is not None:
            self.paused = True
            self.pause()
        self._wake()

    def finish(self, trailers: Headers | None = None) -> None:
        """Mark the end of the body."""
        self.done = True
        self.trailers = trailers
        self._wake()

    def fail(self, error: BaseException) -> None:
        """End the body with an error the consumer will see (no-op once complete)."""
        if not self.done:
            self._error = error
            self.done = True
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # consumer side -------------------------------------------------------------
    @property
    def failed(self) -> bool:
        """Return whether the body ended with an error."""
        return self._error is not None

    @property
    def fully_buffered(self) -> bool:
        """Return whether the whole body is here, so it can be sent in one write."""
        return self.done and self._error is None

    def take_all(self) -> bytes:
        """Return and remove every buffered chunk (the whole body when ``fully_buffered``)."""
        chunks = self._chunks
        if not chunks:
            return b""
        data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._buffered = 0
        return data

    async def read(self) -> bytes:
        """Return the next chunk, or ``b""`` at the end; raises BodyError if the sender failed."""
        while not self._chunks:
            if self._error is not None:
                raise BodyError(str(self._error)) from self._error
            if self.done:
                return b""
            if self.on_first_read is not None:
                callback, self.on_first_read = self.on_first_read, None
                callback()
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        data = self._chunks.popleft()
        self._buffered -= len(data)
        if self.paused and self._buffered < LOW_WATER and self.resume is not None:
            self.paused = False
            self.resume()
        return data
