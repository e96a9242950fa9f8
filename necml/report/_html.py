"""A one-page, self-contained HTML report of a run: every table and figure, and the provenance.

The page embeds its figures as base64 PNGs and its styles inline, so it opens anywhere (a mail
attachment, a CI artefact) with nothing beside it. Its sections, in order: the provenance
(data digest, seed, versions, the command), each Markdown report of the run rendered to HTML
(its images inlined where it shows them), every other figure, and every CSV table (the first
:data:`MAX_ROWS` rows; the file has them all).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from necml.environment import environment_record
from necml.files import atomic_write

__all__ = ["MAX_ROWS", "REPORT_FILE", "flatten_provenance", "render_html", "write_html_report"]

#: File name of the report inside a run directory.
REPORT_FILE = "report.html"
#: Rows of a CSV table shown in the page.
MAX_ROWS = 200
#: Provenance rows shown first (when present): what a reader checks before anything else.
_FIRST = ("command", "data.sha256", "data.source", "data.path", "seed", "environment.versions.necml",
          "environment.code_sha256", "environment.git.commit", "environment.git.dirty")

_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:1200px;
color:#1b1b1b;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;border-bottom:2px solid #1f77b4;padding-bottom:.3rem}h2{font-size:1.25rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.82rem;margin:.6rem 0}th,td{border:1px solid #ccc;padding:.2rem .5rem;
text-align:left}th{background:#eef3f8}tr:nth-child(even) td{background:#fafafa}
img{max-width:100%;height:auto;border:1px solid #eee}figure{margin:1rem 0}figcaption{font-size:.8rem;color:#555}
.provenance td:first-child{font-weight:600;white-space:nowrap}.note{font-size:.8rem;color:#555}
section.markdown{border-left:3px solid #eef3f8;padding-left:1rem}code{background:#f4f4f4;padding:0 .2rem}
"""


def flatten_provenance(record: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    """Nested provenance (a ``record.json``) as ``dotted.key -> text`` rows.

    Lists of scalars are joined with commas; long values (a schema) are kept, one row each.
    """
    rows: dict[str, str] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows.update(flatten_provenance(value, prefix=f"{name}."))
        elif isinstance(value, list | tuple):
            rows[name] = ", ".join(str(v) for v in value)
        else:
            rows[name] = "" if value is None else str(value)
    return rows


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _render_markdown(text: str) -> str:
    try:
        from markdown_it import MarkdownIt  # markdown-it-py: rich's Markdown parser, installed with rich
    except ImportError:  # pragma: no cover - rich always brings it; a plain page beats no page
        return f"<pre>{html.escape(text)}</pre>"
    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


def _markdown(path: Path, images: dict[str, Path], used: set[Path]) -> str:
    body = _render_markdown(path.read_text(encoding="utf-8"))

    def inline(match: re.Match[str]) -> str:
        target = (path.parent / html.unescape(match.group(1))).resolve()
        if target in images.values():
            used.add(target)
            return f'src="{_data_uri(target)}"'
        return match.group(0)

    body = re.sub(r'src="([^"]+)"', inline, body)
    return f'<section class="markdown"><p class="note">{html.escape(path.name)}</p>{body}</section>'


def _table(path: Path, root: Path) -> str:
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    note = (f"first {MAX_ROWS} of {len(frame)} rows; all of them in <code>{html.escape(_name(path, root))}</code>"
            if len(frame) > MAX_ROWS else f"{len(frame)} rows")
    shown = frame.head(MAX_ROWS).to_html(index=False, na_rep="NA", float_format=lambda v: f"{v:.4g}", border=0)
    return f'<h3>{html.escape(_name(path, root))}</h3><p class="note">{note}</p>{shown}'


def _name(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return path.name


def render_html(
    files: Iterable[str | Path],
    *,
    title: str,
    provenance: Mapping[str, object],
    root: str | Path | None = None,
) -> str:
    """The report page as a string.

    Parameters
    ----------
    files : iterable of path-like
        The run's outputs; ``.md`` files are rendered, ``.png`` figures embedded, ``.csv``
        tables shown; other files are listed by name only.
    title : str
        Page title (e.g. the pipeline's name).
    provenance : mapping
        Data digest, seed, versions, command, ... (nested mappings are flattened).
    root : path-like, optional
        Directory file names are shown relative to.

    Returns
    -------
    str
        A complete HTML document with no external reference.
    """
    paths = sorted({Path(f).resolve() for f in files})
    root_dir = Path(root).resolve() if root is not None else (paths[0].parent if paths else Path.cwd())
    images = {_name(p, root_dir): p for p in paths if p.suffix == ".png"}
    used: set[Path] = set()
    flat = flatten_provenance(provenance)
    ordered = [k for k in _FIRST if k in flat] + [k for k in flat if k not in _FIRST]
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(flat[k])}</td></tr>" for k in ordered)
    parts = [f"<h1>{html.escape(title)}</h1>", "<h2>Provenance</h2>",
             f'<table class="provenance">{rows}</table>']
    markdown = [_markdown(p, images, used) for p in paths if p.suffix == ".md"]
    if markdown:
        parts += ["<h2>Reports</h2>", *markdown]
    figures = [p for p in images.values() if p not in used]
    if figures:
        parts.append("<h2>Figures</h2>")
        parts += [f'<figure><img alt="{html.escape(_name(p, root_dir))}" src="{_data_uri(p)}">'
                  f"<figcaption>{html.escape(_name(p, root_dir))}</figcaption></figure>" for p in figures]
    tables = [p for p in paths if p.suffix == ".csv"]
    if tables:
        parts += ["<h2>Tables</h2>", *(_table(p, root_dir) for p in tables)]
    others = [_name(p, root_dir) for p in paths if p.suffix not in (".md", ".png", ".csv")]
    if others:
        parts += ["<h2>Other files</h2>", "<ul>", *(f"<li><code>{html.escape(o)}</code></li>" for o in others), "</ul>"]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>\n")


def write_html_report(
    out: str | Path,
    files: Sequence[str | Path] | None = None,
    *,
    title: str,
    provenance: Mapping[str, object] | None = None,
    name: str = REPORT_FILE,
) -> Path:
    """Write the one-page report of a run into ``out`` (atomically) and return its path.

    Parameters
    ----------
    out : path-like
        The run directory; the report is ``out/<name>``.
    files : sequence of path-like, optional
        What to show; default every file under ``out`` (but earlier reports).
    title : str
    provenance : mapping, optional
        Default: the environment (versions, code digest, platform) of this process.
    name : str, default="report.html"

    Returns
    -------
    pathlib.Path
    """
    out = Path(out)
    if files is None:
        files = [p for p in out.rglob("*") if p.is_file() and p.suffix != ".html" and not p.name.startswith(".")]
    page = render_html(files, title=title, provenance=provenance or {"environment": environment_record()}, root=out)
    return atomic_write(out / name, lambda tmp: tmp.write_text(page, encoding="utf-8"))
