"""Domain block lists as CSV, in the format of Mastodon's admin export.

Mastodon writes `#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate` and
reads columns by name, so Likeness appends its own `#reject_remix_requests` and Mastodon ignores
it. Also read: headers without the `#` (lists made by hand or by FediBlockHole), and older
header-less files, whose columns are taken in the same order (a bare list of domains is the
commonest). A missing severity means `suspend`, as Mastodon's import has it.

`parse_blocklist` checks every row before it returns anything: one bad row refuses the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from .instance_rules import DomainBlock, RuleError, Severity, normalize_domain, parse_severity

MAX_ROWS = 20_000  # Mastodon's ROWS_PROCESSING_LIMIT
MAX_REPORTED_ERRORS = 20
COLUMNS = ("domain", "severity", "reject_media", "reject_reports", "public_comment", "obfuscate",
           "reject_remix_requests")
_TRUE = frozenset({"true", "t", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "f", "0", "no", "n", "off", ""})


class BlocklistError(ValueError):
    """A CSV that cannot be imported; `errors` names each bad row."""

    def __init__(self, errors: list[str]) -> None:
        shown = errors[:MAX_REPORTED_ERRORS]
        more = f" (and {len(errors) - len(shown)} more)" if len(errors) > len(shown) else ""
        super().__init__("; ".join(shown) + more)
        self.errors = errors


def format_blocklist(blocks: Iterable[DomainBlock]) -> str:
    """The CSV Mastodon's admin export writes, plus `#reject_remix_requests`. Private comments
    stay private, as in Mastodon."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f"#{name}" for name in COLUMNS])
    for block in sorted(blocks, key=lambda b: b.domain):
        writer.writerow([block.domain, block.severity.value, _bool(block.reject_media),
                         _bool(block.reject_reports), block.public_comment or "",
                         _bool(block.obfuscate), _bool(block.reject_remix_requests)])
    return out.getvalue()


def _bool(value: bool) -> str:
    return "true" if value else "false"


def parse_blocklist(text: str) -> list[DomainBlock]:
    """Every block in a CSV, or BlocklistError naming every row that is wrong (a bad domain,
    severity or boolean, or a domain listed twice)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), strict=True)
    try:
        # (line, cells) of every row that is not blank; a quoted cell may span lines.
        rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise BlocklistError([f"line {reader.line_num}: the file is not valid CSV: {exc}"]) from None
    if not rows:
        raise BlocklistError(["the file has no rows"])
    header = [cell.strip().lower().lstrip("#").strip() for cell in rows[0][1]]
    if "domain" in header:
        columns = header
        rows = rows[1:]
        # Columns other tools add (digests, notes) are ignored, as Mastodon's import does.
        duplicated = {c for c in columns if c and columns.count(c) > 1}
        if duplicated:
            raise BlocklistError([f"the header names {', '.join(sorted(duplicated))} twice"])
    else:
        columns = list(COLUMNS)
    if len(rows) > MAX_ROWS:
        raise BlocklistError([f"the file has {len(rows)} rows; at most {MAX_ROWS} are imported"])
    errors: list[str] = []
    blocks: list[DomainBlock] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        try:
            block = _row(dict(zip(columns, row, strict=False)))
        except RuleError as exc:
            errors.append(f"line {line}: {exc}")
            continue
        if block.domain in seen:
            errors.append(f"line {line}: {block.domain} is listed twice (also line {seen[block.domain]})")
            continue
        seen[block.domain] = line
        blocks.append(block)
    if errors:
        raise BlocklistError(errors)
    return blocks


def _row(cells: dict[str, str]) -> DomainBlock:
    raw_domain = (cells.get("domain") or "").strip()
    if not raw_domain:
        raise RuleError("the domain is missing")
    try:
        severity = parse_severity((cells.get("severity") or "").strip(), default=Severity.SUSPEND)
    except RuleError as exc:
        raise RuleError(f"{raw_domain}: {exc}") from None
    flags = {}
    for name in ("reject_media", "reject_reports", "reject_remix_requests", "obfuscate"):
        value = (cells.get(name) or "").strip().lower()
        if value not in _TRUE and value not in _FALSE:
            raise RuleError(f"{raw_domain}: {name} must be true or false, not {cells[name]!r}")
        flags[name] = value in _TRUE
    public = (cells.get("public_comment") or "").strip() or None
    private = (cells.get("private_comment") or "").strip() or None
    return DomainBlock(domain=normalize_domain(raw_domain), severity=severity,
                       public_comment=public, private_comment=private, **flags)
