"""mkdocs hooks (``hooks:`` in mkdocs.yml): what the site takes from the code at build time.

- ``reference/cli.md`` is rendered from ``glasstext.cli.build_parser(full=True)`` by
  ``scripts/gen_docs.py``'s ``cli_reference``, so the CLI reference always matches the
  command; it is never written into ``docs/``.
- The Sphinx roles of the docstrings (``:class:`X```) are shown as plain code in the
  API reference.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

_SCRIPTS = Path(__file__).resolve().parent


def _gen_docs() -> Any:
    spec = importlib.util.spec_from_file_location("gen_docs", _SCRIPTS / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_docs"] = module
    spec.loader.exec_module(module)
    return module


def on_files(files: Files, config: Any) -> Files:
    """Add the generated pages to the site."""
    content = _gen_docs().cli_reference()
    files.append(File.generated(config, "reference/cli.md", content=content))
    return files


# Docstrings use Sphinx roles (:class:`~glasstext.x.Y`), which Markdown leaves as text
# before the code span: drop the role, and the "~" that asks for the last name only.
_ROLE = re.compile(
    r":(?:py:)?(?:meth|class|func|mod|attr|data|exc|obj|const):<code>(~)?([^<]*)</code>"
)


def _role_code(match: re.Match[str]) -> str:
    name = match.group(2)
    return f"<code>{name.rsplit('.', 1)[-1] if match.group(1) else name}</code>"


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    """Read Sphinx roles in the API reference as plain code."""
    return _ROLE.sub(_role_code, html)
