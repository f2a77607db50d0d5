"""The Russian translation: mvirtctl speaks Russian under a Russian locale,
and po/ru.po translates every message the sources mark, none fuzzy."""
import os
import re
import subprocess

import pytest

from mvirt_test import env_path, workdir  # noqa: F401  (fixture)


def srcdir(*parts):
    return os.path.join(env_path("top_srcdir"), *parts)


@pytest.fixture
def catalogue(workdir):  # noqa: F811
    """ru.po compiled into a private locale folder, as `make install` would place it."""
    folder = os.path.join(workdir, "locale")
    os.makedirs(os.path.join(folder, "ru", "LC_MESSAGES"))
    subprocess.run(["msgfmt", "--check", "-o",
                    os.path.join(folder, "ru", "LC_MESSAGES", "mvirt.mo"),
                    srcdir("po", "ru.po")], check=True)
    return folder


def help_output(env):
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    base.update(env)
    run = subprocess.run([env_path("MVIRTCTL"), "--help"], env=base, capture_output=True,
                         text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    return run.stdout


def assert_russian(text):
    assert text.startswith("Использование: mvirtctl")
    assert "Команды:" in text
    assert "Код возврата" in text
    # Every summary line of a verb is Russian: no line is left in English.
    for line in text.splitlines():
        assert not re.search(r"\b(the|a|an|Usage|Verbs|Options)\b", line), line


def test_russian_help_with_lang_ru_RU(workdir, catalogue):  # noqa: F811
    # The locale is built privately (LOCPATH), so a fresh machine needs no generated locales,
    # only Debian's locale sources (package locales, installed by tools/setup).
    locales = os.path.join(workdir, "locales")
    os.makedirs(locales)
    assert os.path.exists("/usr/share/i18n/locales/ru_RU"), \
        "the locale sources are missing: apt-get install locales (tools/setup does)"
    subprocess.run(["localedef", "-i", "ru_RU", "-f", "UTF-8",
                    os.path.join(locales, "ru_RU.UTF-8")], check=True, timeout=120)
    assert_russian(help_output({"LANG": "ru_RU.UTF-8", "LOCPATH": locales,
                                "MVIRT_LOCALEDIR": catalogue}))


def test_russian_help_with_language_ru(catalogue):
    assert_russian(help_output({"LANGUAGE": "ru", "LC_ALL": "C.UTF-8",
                                "MVIRT_LOCALEDIR": catalogue}))


def test_russian_usage_error(catalogue):
    run = subprocess.run([env_path("MVIRTCTL"), "frobnicate"], capture_output=True, text=True,
                         timeout=30, env={"LANGUAGE": "ru", "LC_ALL": "C.UTF-8",
                                          "MVIRT_LOCALEDIR": catalogue})
    assert run.returncode == 2
    assert run.stderr == "mvirtctl: Неизвестная команда «frobnicate»; " \
                         "список команд выводит «mvirtctl --help».\n"


def test_catalogue_translates_every_message(workdir):  # noqa: F811
    """ru.po merged with what the sources mark today: nothing untranslated, nothing fuzzy."""
    with open(srcdir("po", "POTFILES.in")) as f:
        files = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    pot = os.path.join(workdir, "mvirt.pot")
    subprocess.run(["xgettext", "--keyword=_", "--keyword=N_", "--from-code=UTF-8", "-C",
                    "-D", srcdir(), "-o", pot, *files], check=True)
    merged = os.path.join(workdir, "ru.po")
    subprocess.run(["msgmerge", "--quiet", "--no-fuzzy-matching", "-o", merged,
                    srcdir("po", "ru.po"), pot], check=True)
    run = subprocess.run(["msgfmt", "--check", "--statistics", "-o", os.devnull, merged],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert re.fullmatch(r"\d+ translated messages\.\n", run.stderr), run.stderr


def test_potfiles_lists_every_source_with_messages():
    with open(srcdir("po", "POTFILES.in")) as f:
        listed = {line.strip() for line in f if line.strip() and not line.startswith("#")}
    marked = set()
    for part in ("client", "common", "managerd", "vmm"):
        for root, _, names in os.walk(srcdir(part)):
            for name in names:
                if name.endswith(".c"):
                    path = os.path.join(root, name)
                    with open(path, errors="replace") as f:
                        if '_("' in f.read():
                            marked.add(os.path.relpath(path, srcdir()))
    assert marked - listed == set()
    assert all(os.path.exists(srcdir(p)) for p in listed)
