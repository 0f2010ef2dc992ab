"""The ``build`` verb of ``interiorvideo``: a thin layer over :func:`pipelines.build_dataset`
(the workbench adds it to the ``interiorvideo`` command line, which lives below this package)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from interiorvideo.cli import console, err, fail, info, parse_size
from interiorvideo.render.mitsuba_backend import MitsubaUnavailable

from .build import build_dataset, check_out_dir
from .plan import BuildConfig
from .ray_pool import RayUnavailable
from .sources import check_sources


def build(
    out: Path = typer.Option(..., help="Dataset folder (shards/, manifest.parquet, dataset.json). Re-run to resume."),
    scenes: Optional[list[Path]] = typer.Option(
        None, "--scenes", metavar="PATH", help="A user scene to build from: a scene folder (scene.json + scene.glb, from "
                               "`interiorvideo scene` / `interiorvideo import`) or a mesh file (.glb/.gltf/.obj/.ply, "
                               "imported with default flags). Repeat for several."),
    generated: Optional[int] = typer.Option(None, metavar="N", help="Generated apartments to add (default: 4 without --scenes, "
                                                       "0 with)."),
    rooms_per_scene: int = typer.Option(2, help="Rooms per scene to film."),
    clips_per_room: int = typer.Option(1, help="Trajectories (clips) per room."),
    frames: int = typer.Option(16, help="Frames per clip."),
    size: str = typer.Option("128x128", help="Frame size WxH."),
    fps: float = typer.Option(24.0, help="Frames per second."),
    seed: int = typer.Option(0, min=0, help="Master seed: same seed and options give byte-identical shards."),
    samples: int = typer.Option(32, help="Irradiance samples per pixel (a power of two)."),
    shard_size: int = typer.Option(8, help="Clips per shard."),
    address: Optional[str] = typer.Option(None, help="Ray cluster address (e.g. ray://head:10001 or auto); "
                                                     "default: Ray on this machine."),
    workers: Optional[int] = typer.Option(None, help="Local Ray CPUs (default: all cores)."),
    retries: int = typer.Option(2, help="Retries per clip task before the clip is reported as failed."),
    default_lights: bool = typer.Option(False, "--default-lights", help="Mesh files (--scenes) that bring no "
                                                                       "light get a grid of ceiling point lights."),
    backend: str = typer.Option("cpu", help="cpu (this project's path tracer) or mitsuba (rgb and irradiance by "
                                            "Mitsuba 3, e.g. on NVIDIA GPUs; the same clip contract)."),
    mitsuba_variant: Optional[str] = typer.Option(None, help="--backend mitsuba: cuda_ad_rgb or llvm_ad_rgb "
                                                             "(default: cuda_ad_rgb when a CUDA driver is present)."),
) -> None:
    """Build InteriorVideo from generated apartments and/or your own scenes (--scenes): plan scenes →
    rooms → trajectories, render each clip as a Ray task, write WebDataset shards per split, then
    manifest.parquet and dataset.json."""
    width, height = parse_size(size)
    try:
        config = BuildConfig(scenes=tuple(str(p) for p in scenes or ()), generated=generated,
                             rooms_per_scene=rooms_per_scene, clips_per_room=clips_per_room,
                             frames=frames, width=width, height=height, fps=fps, seed=seed, shard_size=shard_size,
                             samples=samples, default_lights=default_lights, backend=backend,
                             mitsuba_variant=mitsuba_variant)
        check_sources(config.scenes)  # every path, before any work
        check_out_dir(out)
    except ValueError as exc:
        fail(str(exc))
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=console) as bar:
        task = bar.add_task("planning", total=None, rate="")

        def update(done: int, total: int, rate: float) -> None:
            bar.update(task, description="rendering clips", completed=done, total=total,
                       rate=f"{rate:.2f} clips/s" if rate else "")

        try:
            report = build_dataset(out, config, address=address, workers=workers, max_retries=retries,
                                   progress=update)
        except (FileNotFoundError, ValueError, RayUnavailable, MitsubaUnavailable) as exc:
            fail(str(exc))
        except OSError as exc:  # disk full, permissions: finished clips and shards stay, as after a kill
            fail(f"{exc.strerror or exc} while writing {exc.filename or out}: fix that and re-run the same "
                 "command to resume (finished clips and shards are kept)")
    console.print(f"{report.clips_total} clips ({report.clips_rendered} rendered, {report.clips_reused} reused), "
                  f"{report.shards_written} shards written, {report.seconds:.1f} s → {out}")
    for line in report.damaged:
        err.print(f"[bold yellow]rebuilt[/] {line}")
    for line in report.source_notes:
        console.print(f"[cyan]source[/] {line}")
    for line in report.skipped_rooms:
        console.print(f"[yellow]skipped[/] {line}")
    for line in report.scenes_without_clips:
        console.print(f"[yellow]no clips from[/] {line}")
    if not report.ok:
        for key, why in sorted(report.failed.items()):
            err.print(f"[bold red]failed clip {key}:[/] {why}")
        err.print(f"{len(report.failed)} clips failed after {retries} retries; finished shards are kept, "
                  f"the index is not written. Fix the cause and re-run the same command to resume.")
        raise typer.Exit(code=1)
    info(out)
