"""An asyncio event loop in its own thread, for the OPC UA and Modbus servers and the mirrors.

The simulation thread never awaits anything: it starts the loop once, hands it coroutines with
:meth:`AsyncThread.run` (which waits only for start-up and shutdown, with a timeout), and talks to the
servers through the :class:`~twin.bridge.adapters.exchange.Exchange` afterwards.
"""

from __future__ import annotations

import asyncio
import threading

from ...errors import UsageError

__all__ = ["AsyncThread"]


class AsyncThread:
    """A daemon thread running one event loop until :meth:`close`."""

    def __init__(self, name: str = "twin-adapters") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro, timeout_s: float = 30.0):
        """Run ``coro`` on the loop and return its result (its exception is raised here).

        Raises:
            UsageError: it took longer than ``timeout_s``.
        """
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout_s)
        except TimeoutError:
            fut.cancel()
            raise UsageError(f"an adapter did not start or stop within {timeout_s:g} s") from None

    def submit(self, coro):
        """Schedule ``coro`` on the loop without waiting; returns a concurrent future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self, timeout_s: float = 5.0) -> None:
        """Cancel what still runs, stop the loop and join the thread (idempotent)."""
        if not self._thread.is_alive():
            return

        async def _cancel_all():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.run(_cancel_all(), timeout_s)
        except UsageError:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout_s)
        if not self._thread.is_alive():
            self.loop.close()
