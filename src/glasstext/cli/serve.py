"""``glasstext serve``: the interactive explorer of a saved model or a zero-shot LM."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from glasstext.cli.common import add_lm, add_seed, explainer_table
from glasstext.exceptions import InvalidParameterError, ModelFileError

__all__ = ["add_serve"]


def add_serve(parser: argparse.ArgumentParser) -> None:
    """``glasstext serve MODEL`` or ``glasstext serve --lm LM --labels ...``."""
    from glasstext.explain.scorers import SENTIMENT_LABELS, SENTIMENT_TEMPLATE

    parser.description = (
        "Start the interactive explorer: a local web page where you type a text and see "
        "the prediction and its explanation update as you edit, and remove words to see "
        "what changes. Aug-Linear and Aug-Tree models run table-only (no encoder loaded)."
    )
    parser.add_argument(
        "model", nargs="?", default=None, help="folder of a saved model (or give --lm)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (0: any free)")
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=None,
        metavar="NAME",
        help="also accept requests naming NAME (a host name, an address or *.domain) in their "
        "Host header; repeatable. Default: the loopback names and the --host address, plus "
        "this machine's own names and addresses when --host is not loopback",
    )
    lm = parser.add_argument_group("a zero-shot language model instead of a saved model")
    add_lm(parser, help="explain this LM: alias, folder, hub id or openai:MODEL@BASE_URL")
    lm.add_argument("--template", default=SENTIMENT_TEMPLATE, help="prompt with {text}")
    lm.add_argument(
        "--labels", nargs="+", default=list(SENTIMENT_LABELS), help="label words, class order"
    )
    lm.add_argument("--chat", action="store_true", help="wrap prompts in the chat template")
    lm.add_argument("--proxy", default=None, help="cheaper LM scored with the same prompt")
    lm.add_argument(
        "--method",
        choices=sorted(explainer_table()),
        default="occlusion",
        help="attribution method (occlusion: one call per word)",
    )
    lm.add_argument("--n-samples", type=int, default=64, help="perturbed texts per explanation")
    lm.add_argument("--threshold", type=float, default=0.7, help="agreement needed for the proxy")
    add_seed(parser)
    limits = parser.add_argument_group("request limits")
    limits.add_argument(
        "--max-chars", type=int, default=5000, help="longest text accepted, in characters"
    )
    limits.add_argument(
        "--max-body", type=int, default=65536, help="largest request body accepted, in bytes"
    )
    parser.set_defaults(run=_run_serve)


def _check_source(args: argparse.Namespace) -> None:
    """A saved model folder that exists, or --lm: checked before anything is loaded."""
    if args.model is not None and args.lm is not None:
        raise InvalidParameterError("give a saved model folder or --lm, not both")
    if args.model is None and args.lm is None:
        raise InvalidParameterError("give a saved model folder (glasstext serve MODEL) or --lm LM")
    if args.model is not None and not Path(args.model).exists():
        raise ModelFileError(f"no saved model at {args.model}: the folder does not exist")


def _target(args: argparse.Namespace) -> Any:
    from glasstext.explorer import ScorerTarget, target_for_model

    _check_source(args)
    if args.model is not None:
        from glasstext.models import load_model

        folder = Path(args.model)
        return target_for_model(load_model(folder), name=folder.resolve().name)
    from glasstext.explain import LMScorer

    def scorer(name: str) -> LMScorer:
        return LMScorer(name, args.template, args.labels, chat=args.chat)

    return ScorerTarget(
        scorer(args.lm),
        args.method,
        proxy=scorer(args.proxy) if args.proxy else None,
        n_samples=args.n_samples,
        name=args.lm,
        kind="zero-shot LM",
        seed=args.seed,
        **({"threshold": args.threshold} if args.proxy else {}),
    )


def _run_serve(args: argparse.Namespace) -> int:
    from glasstext.explorer import ExplorerLimits, create_app, is_loopback, require_serve, serve
    from glasstext.explorer.app import allowed_hosts_for, bind

    require_serve()
    if not 0 <= args.port <= 65535:
        raise InvalidParameterError(f"--port must be in [0, 65535], got {args.port}")
    limits = ExplorerLimits(max_chars=args.max_chars, max_body_bytes=args.max_body)
    hosts = allowed_hosts_for(args.host, args.allowed_host or ())
    _check_source(args)
    # Listen before the model loads: a busy port or an unknown host fails at once.
    sock = bind(args.host, args.port)
    try:
        if not is_loopback(args.host):
            _warn_public(args.host, hosts)
        target = _target(args)
        app = create_app(target, limits=limits, allowed_hosts=hosts)

        def ready(url: str) -> None:
            print(f"glasstext explorer: {target.kind} {target.name!r} at {url} (Ctrl-C stops it)")
            sys.stdout.flush()

        serve(app, args.host, args.port, sock=sock, on_ready=ready)
    finally:
        sock.close()
    return 0


def _warn_public(host: str, hosts: list[str]) -> None:
    """Say that the explorer is reachable from elsewhere, and under which names."""
    print(
        f"glasstext: warning: --host {host} is not a loopback address: anyone who can "
        "reach this machine on that address can use the explorer (it has no login)",
        file=sys.stderr,
    )
    print(
        f"glasstext: requests must name one of: {', '.join(hosts)} (--allowed-host adds a name)",
        file=sys.stderr,
    )
