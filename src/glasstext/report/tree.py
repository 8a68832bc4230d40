"""Aug-Tree, drawn: the tree as an SVG diagram, an example's path highlighted.

Every split asks "does the text contain any of these phrases?"; each box
shows the phrase set, the training texts that reached it and their class mix
(or mean value for a regressor). The path of an example text is drawn bold
and its matched phrases named.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from glasstext._deprecation import renamed_module_attributes
from glasstext.markup import escape
from glasstext.report.page import Views, kv_table, section
from glasstext.report.svg import class_colour, class_mix

if TYPE_CHECKING:
    from glasstext.models.augtree import TreeExplanation, TreeStructure

__all__ = [
    "AUGTREE_VIEWS",
    "TREE_EXPLANATION_VIEWS",
    "augtree_fragment",
    "augtree_html",
    "draw_augtree",
    "draw_tree_explanation",
    "tree_explanation_block",
    "tree_svg",
]

# The deprecated name of the block: "fragment" names the notebook view.
__getattr__ = renamed_module_attributes(
    __name__, tree_explanation_fragment="tree_explanation_block"
)

_BOX_W, _BOX_H, _GAP_X, _GAP_Y = 184, 92, 16, 48
_BOLD = ' font-weight="600"'
_MAX_SHOWN = 4  # phrases listed in a box (all of them in its tooltip)


def _clip(text: str, n: int = 26) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _layout(tree: TreeStructure, max_depth: int) -> dict[int, tuple[float, int]]:
    """x slot and depth of every node drawn (yes branch left), leaves in order."""
    positions: dict[int, tuple[float, int]] = {}
    next_slot = [0.0]

    def visit(node: int, depth: int) -> float:
        children = (tree.right[node], tree.left[node])  # yes first, drawn on the left
        if tree.left[node] < 0 or depth >= max_depth:
            x = next_slot[0]
            next_slot[0] += 1.0
        else:
            x = float(np.mean([visit(c, depth + 1) for c in children]))
        positions[node] = (x, depth)
        return x

    visit(0, 0)
    return positions


def tree_svg(
    tree: TreeStructure,
    classes: Sequence[Any] | None,
    *,
    path: Sequence[int] = (),
    matched: dict[int, list[str]] | None = None,
    max_depth: int = 4,
) -> str:
    """The tree as an SVG diagram (the nodes of ``path`` highlighted).

    Parameters
    ----------
    tree : TreeStructure
    classes : sequence or None
        Class labels (``None`` for a regressor: boxes show the mean value).
    path : sequence of int
        Nodes to highlight, root first.
    matched : dict of int to list of str, optional
        The phrases the example matched at each node of ``path``.
    max_depth : int, default=4
        Deeper nodes are folded into their ancestor (the box says so).
    """
    matched = matched or {}
    pos = _layout(tree, max_depth)
    on_path = set(path)
    n_slots = max(x for x, _ in pos.values()) + 1
    depth = max(d for _, d in pos.values())
    width = n_slots * (_BOX_W + _GAP_X) + _GAP_X
    height = (depth + 1) * (_BOX_H + _GAP_Y) + 10
    root_n = max(tree.n_samples[0], 1)

    def corner(node: int) -> tuple[float, float]:
        x, d = pos[node]
        return _GAP_X + x * (_BOX_W + _GAP_X), 8 + d * (_BOX_H + _GAP_Y)

    edges, boxes = [], []
    for node in pos:
        if tree.left[node] < 0 or pos[node][1] >= max_depth:
            continue
        px, py = corner(node)
        for child, answer in ((tree.right[node], "yes"), (tree.left[node], "no")):
            cx, cy = corner(child)
            bold = node in on_path and child in on_path
            x1, y1, x2, y2 = px + _BOX_W / 2, py + _BOX_H, cx + _BOX_W / 2, cy
            edges.append(
                f'<path class="edge{" on-path" if bold else ""}" d="M{x1:.1f},{y1:.1f} '
                f'C{x1:.1f},{y1 + 22:.1f} {x2:.1f},{y2 - 22:.1f} {x2:.1f},{y2:.1f}" fill="none" '
                f'stroke="{"#111" if bold else "#9a9a9a"}" stroke-width="{3 if bold else 1.3}"/>'
                f'<text x="{(x1 + x2) / 2 + (-6 if answer == "yes" else 6):.1f}" '
                f'y="{(y1 + y2) / 2 + 4:.1f}" '
                f'text-anchor="{"end" if answer == "yes" else "start"}" '
                f'font-size="11" fill="#333" font-weight="{700 if bold else 400}" '
                f'paint-order="stroke" stroke="#fff" stroke-width="3">{answer}</text>'
            )
    for node in pos:
        x, y = corner(node)
        is_leaf = tree.left[node] < 0
        folded = not is_leaf and pos[node][1] >= max_depth
        value = tree.value[node]
        lines: list[str] = []
        if is_leaf or folded:
            if classes is not None:
                best = int(np.argmax(value))
                lines.append(f"predict {_clip(str(classes[best]), 18)}")
            else:
                lines.append(f"predict {float(value[0]):.4g}")
            if folded:
                lines.append("(deeper splits folded)")
        else:
            phrases = tree.phrases[node]
            lines.append("contains any of:")
            shown = ", ".join(_clip(p, 18) for p in phrases[:_MAX_SHOWN])
            more = f" +{len(phrases) - _MAX_SHOWN}" if len(phrases) > _MAX_SHOWN else ""
            lines += _wrap(shown + more, 30)[:2]
        n = tree.n_samples[node]
        stats = f"{n:,} texts ({n / root_n:.0%})"
        if classes is None:
            stats += f", mean {float(value[0]):.3g}"
        bold = node in on_path
        tip = [f"node {node}: {n} training texts"]
        if not is_leaf:
            tip.append("phrases: " + ", ".join(tree.phrases[node]))
        if classes is not None:
            tip.append(
                "; ".join(f"{c}: {float(v):.0%}" for c, v in zip(classes, value, strict=True))
            )
        if matched.get(node):
            tip.append("example matched: " + ", ".join(matched[node]))
        texts = "".join(
            f'<text x="{x + 8:.1f}" y="{y + 17 + 15 * i:.1f}" font-size="12" fill="#1a1a1a"'
            f"{_BOLD if i == 0 else ''}>{escape(line)}</text>"
            for i, line in enumerate(lines)
        )
        mix = (
            class_mix(list(value), list(classes), x=x + 8, y=y + _BOX_H - 18, width=_BOX_W - 16)
            if classes is not None
            else ""
        )
        boxes.append(
            f'<g class="node{" on-path" if bold else ""}{" leaf" if is_leaf else ""}" '
            f'data-node="{node}"><title>{escape(" | ".join(tip))}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{_BOX_W}" height="{_BOX_H}" rx="6" '
            f'fill="{"#fffbe6" if bold else "#fff"}" stroke="{"#111" if bold else "#9a9a9a"}" '
            f'stroke-width="{3 if bold else 1.2}"/>{texts}'
            f'<text x="{x + 8:.1f}" y="{y + _BOX_H - 24:.1f}" font-size="11" fill="#333">'
            f"{escape(stats)}</text>{mix}</g>"
        )
    return (
        f'<svg class="tree" role="img" width="{width:.0f}" height="{height:.0f}" '
        f'style="max-width:none;width:max(min(100%, {width:.0f}px), {0.85 * width:.0f}px);'
        'height:auto" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" xmlns="http://www.w3.org/2000/svg">'
        "<title>The decision tree: each box asks whether a text contains any of its phrases"
        f"{'; the example path is drawn bold' if path else ''}</title>"
        f"{''.join(edges)}{''.join(boxes)}</svg>"
    )


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines


def _class_legend(classes: Sequence[Any]) -> str:
    return (
        '<p class="legend">class mix: '
        + "".join(
            f'<span class="tag" style="border-left:12px solid {class_colour(i)}">'
            f"{escape(str(c))}</span>"
            for i, c in enumerate(classes)
        )
        + "</p>"
    )


def tree_explanation_block(e: TreeExplanation, heading: str | None = None) -> str:
    """The questions an example was asked on its way to a leaf, and its answers."""
    items = []
    for step in e.steps:
        phrases = ", ".join(f"“{p}”" for p in step.phrases[:8])
        if len(step.phrases) > 8:
            phrases += f" and {len(step.phrases) - 8} more"
        if step.answer:
            found = ", ".join(f"“{p}”" for p in step.matched)
            answer = f'<strong class="good">yes</strong>: found {escape(found)}'
        else:
            answer = '<strong class="bad">no</strong>'
        items.append(f"<li>contains any of {escape(phrases)}? {answer}</li>")
    if e.classes is not None:
        value = "; ".join(
            f"{escape(str(c))} {float(v):.0%}" for c, v in zip(e.classes, e.value, strict=True)
        )
    else:
        value = f"value {float(e.value[0]):.4g}"
    title = f"<h3>{escape(heading)}</h3>" if heading else ""
    return (
        f'<div class="tree-explanation">{title}<div class="text">{escape(e.text)}</div>'
        f'<ol class="path">{"".join(items)}</ol>'
        f"<p>leaf {e.leaf}: {value}; prediction <strong>{escape(str(e.prediction))}"
        "</strong></p></div>\n"
    )


def draw_augtree(
    model: Any,
    X_examples: Sequence[str] | None = None,
    *,
    title: str | None = None,
    tree_index: int = 0,
    max_depth: int = 4,
    **_: Any,
) -> tuple[str, str]:
    """The heading and body of a fitted Aug-Tree model's report.

    Parameters
    ----------
    model : AugTreeClassifier or AugTreeRegressor
    X_examples : sequence of str, optional
        The first text's path is highlighted and spelled out.
    title : str, optional
    tree_index : int, default=0
        Which tree of an ensemble.
    max_depth : int, default=4
        Levels drawn (deeper splits are folded into their ancestor's box).
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "trees_")
    tree = model.trees_[tree_index]
    classes = model._class_list()
    kind = type(model).__name__
    n_leaves = sum(1 for c in tree.left if c < 0)
    heading = title or f"{kind}: depth {tree.depth()}, {n_leaves} leaves"
    facts = [
        ("model", kind),
        ("trees", f"{len(model.trees_)} (showing tree {tree_index + 1})"),
        ("keyword expansion", str(model.expansion)),
        ("training texts", f"{tree.n_samples[0]:,}"),
    ]
    if classes is not None:
        facts.insert(1, ("classes", ", ".join(str(c) for c in classes)))
    lead = (
        "Each split asks whether a text contains any phrase of its set (a keyword and its "
        "expansions); texts that do go down the 'yes' branch. A leaf predicts from the "
        "training texts that reached it."
    )
    texts = list(X_examples) if X_examples is not None else []
    path: list[int] = []
    matched: dict[int, list[str]] = {}
    example = ""
    if texts:
        e = model.explain(texts[0], tree_index=tree_index)
        path = [s.node for s in e.steps] + [e.leaf]
        matched = {s.node: list(s.matched) for s in e.steps}
        example = section(
            "The path of an example",
            tree_explanation_block(e),
            note="The bold boxes in the diagram above are this text's path.",
        )
    diagram = tree_svg(tree, classes, path=path, matched=matched, max_depth=max_depth)
    parts = [
        f"<p class='lead'>{escape(lead)}</p>\n{kv_table(facts)}",
        section(
            "The tree",
            (_class_legend(classes) if classes is not None else ""),
            f'<div class="scroll" style="overflow-x:auto">{diagram}</div>',
            note="Hover a box for its full phrase set and class mix."
            + (
                f" Splits deeper than {max_depth} levels are folded."
                if tree.depth() > max_depth
                else ""
            ),
        ),
        example,
        section(
            "The tree as text",
            f"<details><summary>show</summary><pre>{escape(model.export_text(tree_index))}</pre>"
            "</details>",
        ),
    ]
    return heading, "".join(parts)


def draw_tree_explanation(
    e: TreeExplanation, title: str | None = None, **_: Any
) -> tuple[str, str]:
    """The heading and body of a :class:`TreeExplanation`'s views."""
    return title or "Aug-Tree decision path", tree_explanation_block(e)


#: A fitted Aug-Tree model's report page (``model.to_html``) and notebook fragment.
AUGTREE_VIEWS = Views(draw_augtree, "report")
#: An Aug-Tree decision path's page and notebook fragment.
TREE_EXPLANATION_VIEWS = Views(draw_tree_explanation, "result", copyable=True)
#: A standalone report page of a fitted Aug-Tree model (see :func:`draw_augtree`).
augtree_html = AUGTREE_VIEWS.page
augtree_fragment = AUGTREE_VIEWS.fragment
