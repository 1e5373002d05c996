"""`crmhub identity resolve`: resolve every ACTIVE customer, merge the clusters, suggest the rest."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

identity_app = typer.Typer(help="Identity resolution: merges and merge suggestions.",
                           no_args_is_help=True)

out = Console()
err = Console(stderr=True)


@identity_app.command()
def resolve(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would merge; write nothing.")] = False,
    auto_merge: Annotated[float, typer.Option(
        min=0, max=1, help="Merge pairs at least this likely (rules always merge).")] = 0.95,
    review: Annotated[float, typer.Option(
        min=0, max=1, help="Suggest pairs at least this likely for review.")] = 0.5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Merge customers that are one person; file review-band pairs as merge suggestions."""
    from hub.db import create_sync_engine
    from hub.identity import batch
    from hub.identity.decide import Thresholds
    from hub.identity.resolve import Progress as Progress_
    from hub.identity.resolve import ResolveSettings
    from hub.settings import get_settings

    try:
        settings = ResolveSettings(thresholds=Thresholds(auto_merge=auto_merge, review=review))
    except ValueError as error:
        err.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    engine = create_sync_engine()
    bars = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, disable=as_json)
    stages: dict[str, int] = {}

    def report(step: Progress_) -> None:
        if step.stage not in stages:
            stages[step.stage] = bars.add_task(step.stage, total=max(step.total, 1))
        bars.update(stages[step.stage], completed=step.done, total=max(step.total, 1))

    try:
        with bars:
            plan = batch.plan(engine, settings, progress=report)
            applied = None
            if not dry_run:
                task = bars.add_task("merge", total=len(plan.merges) + 1)
                applied = batch.apply(engine, plan, get_settings().identity.survivorship,
                                      progress=lambda done, total: bars.update(task, completed=done))
    finally:
        engine.dispose()
    stats = plan.resolution.stats
    counts = {
        "customers": stats.records,
        "candidate_pairs": stats.candidate_pairs,
        "clusters": len(plan.merges),
        "merges": applied.merged if applied else plan.merge_count,
        "suggestions": applied.suggested if applied else len(plan.suggestions),
        "dry_run": dry_run,
    }
    if as_json:
        out.print_json(json.dumps(counts))
        return
    verb = "would merge" if dry_run else "merged"
    out.print(f"{counts['customers']} customers, {counts['candidate_pairs']} candidate pairs: "
              f"{verb} {counts['merges']} into {counts['clusters']} survivors; "
              f"{counts['suggestions']} merge suggestion(s)"
              f"{' would be filed' if dry_run else ' filed'}.")
