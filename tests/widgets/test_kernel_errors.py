"""In a page's kernel, an error the browser caused is shown and logged without its traceback."""

from __future__ import annotations

import logging

import pytest
from IPython.core.interactiveshell import InteractiveShell

from healthdash.widgets.kernel_errors import NOT_HANDLED, hide_tracebacks


def test_an_error_is_shown_without_its_traceback_or_message(capsys: pytest.CaptureFixture[str]) -> None:
    shell = InteractiveShell.instance()
    try:
        hide_tracebacks(shell)
        hide_tracebacks(shell)  # once is enough: a second page in the same kernel changes nothing
        try:
            raise ValueError("/opt/secret/site-packages/x.py")
        except ValueError:
            shell.showtraceback()
        shown = capsys.readouterr()
        assert NOT_HANDLED in shown.out + shown.err
        assert "secret" not in shown.out + shown.err and "Traceback" not in shown.out + shown.err
    finally:
        InteractiveShell.clear_instance()


def test_the_comm_log_keeps_the_message_and_drops_the_traceback(caplog: pytest.LogCaptureFixture) -> None:
    hide_tracebacks(None)  # outside a kernel: nothing to do
    shell = InteractiveShell.instance()
    try:
        hide_tracebacks(shell)
        try:
            raise KeyError("state")
        except KeyError:
            logging.getLogger("Comm").error("Exception in comm_msg for %s", "abc", exc_info=True)
        (record,) = [r for r in caplog.records if r.name == "Comm"]
        assert record.getMessage() == "Exception in comm_msg for abc"
        assert record.exc_info is None and "Traceback" not in caplog.text
    finally:
        InteractiveShell.clear_instance()
