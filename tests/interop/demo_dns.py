"""demo_dns.py -- what the interop scripts share: the TXT records of a
zone file (keys/demo/demo.zone) as dkimpy's dnsfunc, and a message's
wire form. Imported by interop.py and arc_interop.py."""
import re


def zone_txt(path):
    """TXT records of a zone file as {name.: text} (strings joined)."""
    out, origin = {}, ""
    text = open(path).read()
    text = re.sub(r"\(\s*(.*?)\s*\)", lambda m: m.group(1).replace("\n", " "),
                  text, flags=re.S)
    for ln in text.splitlines():
        if ln.lstrip().startswith(";"):
            continue
        if ln.startswith("$ORIGIN"):
            origin = ln.split()[1]
            continue
        m = re.match(r'^(\S+)\s+(?:\d+\s+)?IN\s+TXT\s+(.*)$', ln)
        if not m:
            continue
        name = m.group(1)
        name = origin if name == "@" else (
            name if name.endswith(".") else name + "." + origin)
        out[name.lower()] = "".join(re.findall(r'"([^"]*)"', m.group(2)))
    return out


def dnsfunc_for(path):
    """A dkimpy dnsfunc answering the TXT records of the zone file."""
    txt = zone_txt(path)

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        if not name.endswith("."):
            name += "."
        v = txt.get(name.lower())
        return v.encode() if v is not None else None
    return dnsfunc


def wire(data):
    """The message as it travels: every line end CRLF."""
    return re.sub(rb"\r?\n", b"\r\n", data)
