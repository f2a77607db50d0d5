"""A pytest plugin that prints the Test Anything Protocol, one line per test case.

Debian has no pytest-tap, and automake's tap-driver.sh counts cases only from TAP.
Failures are followed by their report as TAP comments so the .log file explains them.
"""
import os

_out = os.fdopen(os.dup(int(os.environ.get("MVIRT_TAP_FD", "1"))), "w", buffering=1)
_count = 0


def _emit(ok, name, directive="", details=""):
    global _count
    _count += 1
    line = f"{'ok' if ok else 'not ok'} {_count} - {name}"
    if directive:
        line += f" # {directive}"
    _out.write(line + "\n")
    for text in details.splitlines():
        _out.write(f"# {text}\n")


def pytest_collectreport(report):
    if report.failed:
        _emit(False, f"collect {report.nodeid}", details=str(report.longrepr))


def pytest_runtest_logreport(report):
    name = report.nodeid.split("::", 1)[-1]
    if report.when == "setup" and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _emit(True, name, f"SKIP {reason.replace('Skipped: ', '')}")
    elif report.when == "setup" and report.failed:
        _emit(False, name, details=str(report.longrepr))
    elif report.when == "call":
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
            _emit(True, name, f"SKIP {reason.replace('Skipped: ', '')}")
        else:
            _emit(report.passed, name, details="" if report.passed else str(report.longrepr))
        if report.capstderr and report.failed:
            for text in report.capstderr.splitlines()[-40:]:
                _out.write(f"# stderr: {text}\n")
    elif report.when == "teardown" and report.failed:
        _emit(False, f"{name} (teardown)", details=str(report.longrepr))


def pytest_sessionfinish(session, exitstatus):
    # An empty run is a failure, not a silent success.
    if _count == 0:
        _emit(False, "no test was collected")
    _out.write(f"1..{_count}\n")
