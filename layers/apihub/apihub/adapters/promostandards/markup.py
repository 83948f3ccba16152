"""HTML in supplier text -> plain text that keeps its paragraphs.

S&S sends ``<ul><li>…</li></ul>`` (escaped inside the XML) as a product description; SanMar sends
one ``<description>`` element per paragraph. Both become one line per paragraph / list item, with
entities decoded (``&nbsp;`` -> space, ``&quot;`` -> ``"``) and runs of whitespace collapsed.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

# Tags that end a paragraph (a line break in the plain text).
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "section"}
)
# Tags whose content is not text a reader should see.
_SKIP_TAGS = frozenset({"script", "style"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.break_line()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.break_line()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.break_line()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._current.append(data)

    def break_line(self) -> None:
        line = " ".join("".join(self._current).split())
        if line:
            self.lines.append(line)
        self._current = []


def plain_text(value: str) -> str:
    """Markup removed, one paragraph per line. Text without markup is only whitespace-normalised."""
    if "<" not in value and "&" not in value:
        return "\n".join(line for line in (" ".join(part.split()) for part in value.splitlines()) if line)
    collector = _TextCollector()
    collector.feed(value)
    collector.close()
    collector.break_line()
    return "\n".join(collector.lines)


def paragraphs_to_text(paragraphs: list[str]) -> str:
    """Several description elements -> one text, one paragraph per line, markup removed."""
    lines = [plain_text(p) for p in paragraphs]
    return "\n".join(line for line in lines if line)


def unescape_label(value: str) -> str:
    """Short labels (categories, brand) sometimes arrive HTML-escaped twice (``Mens &amp; Unisex``)."""
    return " ".join(html.unescape(value).split()) if "&" in value else value
