"""The documentation kept in step with what the programs take: doc/mvirtd.8's D-Bus
section names every method, property and signal of schemas/org.mvirt.*.xml; README.md and
doc/mvirtctl.1 have the XML table naming every element of schemas/*.rng; the pages render
without a warning. Nothing runs: it reads files."""
import os
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

TOP = os.environ.get("top_srcdir", "..")
RNG = "{http://relaxng.org/ns/structure/1.0}"


def read(*parts):
    with open(os.path.join(TOP, *parts)) as f:
        return f.read()


def section(man, name):
    m = re.search(r"^\.SH " + re.escape(name) + r"\n(.*?)(?=^\.SH )", man, re.S | re.M)
    assert m, f"no .SH {name}"
    return m.group(1)


def bold_words(text):
    """The first word of every .B / .BR / .BI line: how the page names an API member."""
    return {m.group(1) for m in re.finditer(r"^\.B[RI]? +\"?([A-Za-z_.]+)", text, re.M)}


@pytest.mark.parametrize("file,ifaces", [
    ("org.mvirt.Manager1.xml", ("org.mvirt.Manager1", "org.freedesktop.DBus.ObjectManager")),
    ("org.mvirt.Domain1.xml", ("org.mvirt.Domain1",)),
])
def test_man_page_names_every_dbus_member(file, ifaces):
    named = bold_words(section(read("doc", "mvirtd.8"), "D-BUS API"))
    root = ET.fromstring(read("schemas", file))
    missing = []
    for iface in root.findall("interface"):
        if iface.get("name") not in ifaces:
            continue
        assert iface.get("name") in named or iface.get("name").startswith("org.mvirt")
        for kind in ("method", "property", "signal"):
            for member in iface.findall(kind):
                if member.get("name") not in named:
                    missing.append(f"{iface.get('name')}.{member.get('name')} ({kind})")
    assert missing == [], "doc/mvirtd.8's D-BUS API section lacks: " + ", ".join(missing)


def rng_elements():
    names = set()
    for file in ("domain.rng", "device.rng"):
        for el in ET.fromstring(read("schemas", file)).iter(RNG + "element"):
            names.add(el.get("name"))
    return names


@pytest.mark.parametrize("where", ["README.md", "doc/mvirtctl.1"])
def test_xml_table_names_every_element(where):
    text = read(*where.split("/"))
    if where.endswith(".1"):
        text = section(text, "XML")
    else:
        text = text[text.index("## The XML mvirt accepts"):]
        text = text[:text.index("\n## ")]
    missing = sorted(n for n in rng_elements() if f"<{n}" not in text)
    assert missing == [], f"the XML table of {where} does not name: {missing}"


@pytest.mark.parametrize("page", ["mvirtd.8", "mvirtctl.1", "mvirt-vmm.1"])
def test_man_pages_render_cleanly(page):
    p = subprocess.run(["groff", "-t", "-man", "-ww", "-z", os.path.join(TOP, "doc", page)],
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr == "", p.stderr
