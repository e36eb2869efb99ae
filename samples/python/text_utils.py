"""Text helpers (self-written sample, MIT licence)."""
import re

_WORD = re.compile(r"[A-Za-z0-9]+")


def slugify(text):
    words = _WORD.findall(text.lower())
    return "-".join(words)


def wrap(text, width=72):
    lines = []
    current = []
    length = 0
    for word in text.split():
        if current and length + 1 + len(word) > width:
            lines.append(" ".join(current))
            current = []
            length = 0
        length += len(word) + (1 if current else 0)
        current.append(word)
    if current:
        lines.append(" ".join(current))
    return "\n".join(lines)


def count_words(text):
    counts = {}
    for word in _WORD.findall(text.lower()):
        counts[word] = counts.get(word, 0) + 1
    return counts


class Template:
    """A tiny `{name}` template that leaves unknown names in place."""

    def __init__(self, source):
        self.source = source

    def render(self, **values):
        def replace(match):
            name = match.group(1)
            return str(values[name]) if name in values else match.group(0)

        return re.sub(r"\{(\w+)\}", replace, self.source)
