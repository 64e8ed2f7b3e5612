"""What a page's kernel tells the browser when it cannot handle a message from it: that it failed, never how.

A widget message the page cannot handle (malformed, or from a page that was tampered with) raises in the kernel.
ipywidgets then shows the traceback as the cell's error and the comm machinery logs it, and both reach the browser
over the websocket, with the server's paths in them. In a page's kernel the error says only that the request was not
handled.
"""

from __future__ import annotations

import logging
from typing import Any

from traitlets.log import get_logger

COMM_LOGGERS = ("Comm", "ipykernel.comm")
NOT_HANDLED = "the page could not handle a request from the browser"


class WithoutTraceback(logging.Filter):
    """Keep a log record's message, drop its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


def hide_tracebacks(shell: Any) -> None:
    """Make an IPython kernel's shell show errors without their traceback, and its comm logs without theirs."""
    if shell is None or getattr(shell, "_tracebacks_hidden", False):
        return
    show = shell._showtraceback

    def short(etype: type[BaseException], evalue: BaseException, stb: list[str]) -> None:
        show(RuntimeError, NOT_HANDLED, [NOT_HANDLED])

    shell._showtraceback = short
    shell._tracebacks_hidden = True
    application_log = get_logger()  # the kernel application's, where ipywidgets logs a failed callback
    loggers = [logging.getLogger(name) for name in COMM_LOGGERS]
    loggers.append(application_log if isinstance(application_log, logging.Logger) else application_log.logger)
    for logger in loggers:
        logger.addFilter(WithoutTraceback())
