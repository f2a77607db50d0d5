"""The harness itself: the summary line CI relies on counts every outcome."""
import os
import subprocess

from mvirt_test import workdir  # noqa: F401  (fixture)


def summary(tree):
    script = os.path.join(os.environ["top_srcdir"], "tools", "summary")
    return subprocess.run([script, tree], capture_output=True, text=True).stdout


def test_summary_counts_each_case(workdir):  # noqa: F811
    os.makedirs(os.path.join(workdir, "sub"))
    with open(os.path.join(workdir, "a.trs"), "w") as f:
        f.write(":test-result: PASS\n:test-result: PASS\n:test-result: SKIP\n"
                ":global-test-result: PASS\n")
    with open(os.path.join(workdir, "sub", "b.trs"), "w") as f:
        f.write(":test-result: FAIL\n:test-result: ERROR\n:test-result: XFAIL\n")
    assert summary(workdir).strip().splitlines()[-1] == "3 passed, 2 failed, 1 skipped"


def test_summary_of_an_empty_tree_is_a_failure(workdir):  # noqa: F811
    script = os.path.join(os.environ["top_srcdir"], "tools", "summary")
    run = subprocess.run([script, workdir], capture_output=True, text=True)
    assert run.returncode != 0
    assert run.stdout.strip() == "0 passed, 0 failed"
