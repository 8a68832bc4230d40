"""``finetune``: a fine-tuned encoder folder, usable wherever an encoder is."""

from __future__ import annotations

import argparse

from glasstext.cli.common import (
    add_data_arguments,
    add_device,
    add_encoder,
    add_out,
    add_seed,
    add_task,
    load_data,
    metric_name,
    named_labels,
    task_of,
)

__all__ = ["add_finetune"]


def add_finetune(parser: argparse.ArgumentParser) -> None:
    """``glasstext finetune``."""
    parser.description = (
        "Fine-tune an encoder with a pooled linear head, with a validation split and early "
        "stopping; the folder works wherever an encoder is accepted "
        "(e.g. glasstext fit auglinear --encoder FOLDER)."
    )
    add_data_arguments(parser)
    add_task(parser)
    add_encoder(parser, "encoder to fine-tune: alias, hub id or folder")
    parser.add_argument("--epochs", type=int, default=3, help="passes over the training texts")
    parser.add_argument("--batch-size", type=int, default=32, help="texts per step")
    parser.add_argument("--learning-rate", type=float, default=5e-5, help="encoder's peak rate")
    parser.add_argument("--max-length", type=int, default=128, help="tokens kept per text")
    parser.add_argument("--freeze-layers", type=int, default=0, help="lowest layers kept frozen")
    parser.add_argument(
        "--validation-fraction", type=float, default=0.1, help="training texts held out"
    )
    parser.add_argument("--patience", type=int, default=1, help="epochs without improvement")
    add_seed(parser)
    add_device(parser)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's choice)"
    )
    parser.add_argument(
        "--ngram-weight",
        type=float,
        default=0.0,
        help="for Aug-Linear: also train the head on each text's n-grams embedded alone",
    )
    add_out(
        parser,
        "folder to write the fine-tuned encoder to (new, empty, or an earlier fine-tuning's)",
        required=True,
    )
    parser.set_defaults(run=_run_finetune)


def _run_finetune(args: argparse.Namespace) -> int:
    from glasstext import finetune_encoder
    from glasstext.backends.finetune import FinetunedModel, check_output_dir, finetune_info

    check_output_dir(args.out)  # before the data and the training
    ds = load_data(args)
    task = task_of(ds, args.task)
    y_train, y_test = named_labels(ds, task)
    folder = finetune_encoder(
        ds.X_train,
        y_train,
        encoder=args.encoder,
        output_dir=args.out,
        task=task,  # type: ignore[arg-type]
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_length=args.max_length,
        freeze_layers=args.freeze_layers,
        validation_fraction=args.validation_fraction,
        patience=args.patience,
        ngram_weight=args.ngram_weight,
        seed=args.seed,
        n_threads=args.threads,
        device=args.device,
    )
    info = finetune_info(folder)
    print(
        f"fine-tuned {args.encoder} on {info['n_train']} texts "
        f"({info['n_validation']} held out) in {info['seconds']:.1f} s"
    )
    for record in info["history"]:
        figures = ", ".join(f"{k} {v}" for k, v in record.items() if k != "epoch")
        print(f"  epoch {record['epoch']}: {figures}")
    print(f"kept epoch {info['best_epoch']} (lowest validation loss)")
    if len(ds.X_test):
        score = FinetunedModel(folder, n_threads=args.threads, device=args.device).score(
            ds.X_test, y_test
        )
        print(
            f"test {metric_name(task)} of the fine-tuned model: {score:.4f} "
            f"({len(ds.X_test)} texts)"
        )
    print(f"saved to {folder}")
    print(f"use it as an encoder: glasstext fit auglinear --encoder {folder} ...")
    return 0
