"""``interiorvideo``: the InteriorVideo dataset tools (a thin layer over the library)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import NoReturn, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="InteriorVideo: indoor scenes, camera trajectories and (soon) clips and shards.",
                  no_args_is_help=True, add_completion=False)
console = Console()
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=2)


def _message(exc: BaseException) -> str:
    """The plain message: str(KeyError) adds quotes around it."""
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)


def parse_size(text: str) -> tuple[int, int]:
    """'512x384' → (512, 384)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"size must look like WIDTHxHEIGHT (e.g. 512x512), got {text!r}") from None
    if w <= 0 or h <= 0:
        raise typer.BadParameter(f"size must be positive, got {text!r}")
    return w, h


@app.command()
def scene(
    seed: int = typer.Option(0, help="Random seed; the same seed gives byte-identical files."),
    out: Path = typer.Option(..., help="Output folder (scene.glb, scene.json, floorplan.png)."),
) -> None:
    """Generate a furnished multi-room apartment and write it as a scene folder."""
    from .scene import generate_scene, save_scene

    t0 = time.perf_counter()
    sc = generate_scene(seed)
    save_scene(sc, out)
    table = Table(title=f"{sc.name} → {out}")
    for col in ("room", "kind", "instances", "prompt"):
        table.add_column(col, overflow="fold")
    for r in sc.rooms:
        table.add_row(str(r.room_id), r.kind, str(len(sc.objects_in_room(r.room_id))), r.prompt)
    console.print(table)
    console.print(f"{len(sc.objects)} instances, {sc.num_triangles} triangles, {len(sc.lights)} lights; "
                  f"{time.perf_counter() - t0:.2f} s. Floor plan: {out / 'floorplan.png'}")


@app.command("import")
def import_(
    paths: list[Path] = typer.Argument(..., help="Mesh files: .glb/.gltf, .obj (+.mtl), .ply."),
    out: Path = typer.Option(..., help="Output scene folder (scene.glb, scene.json, floorplan.png)."),
    rooms: Optional[str] = typer.Option(None, help="per-file | floor-split | single (default: per-file for "
                                                    "several files, floor-split for one)."),
    up: Optional[str] = typer.Option(None, help="Up axis of the files: y (glTF, Blender's OBJ default) or z."),
    name: Optional[str] = typer.Option(None, help="Scene name (default: the first file's stem)."),
) -> None:
    """Import your own meshes as a scene folder the rest of the platform reads."""
    from .scene import save_scene
    from .scene.importers import SceneImportError, import_scene

    if rooms is not None and rooms not in ("per-file", "floor-split", "single"):
        raise typer.BadParameter(f"--rooms must be per-file, floor-split or single, got {rooms!r}")
    if up is not None and up not in ("y", "z"):
        raise typer.BadParameter(f"--up must be y or z, got {up!r}")
    try:
        sc = import_scene(paths, rooms=rooms, up=up, name=name)
    except (SceneImportError, FileNotFoundError) as exc:
        _fail(str(exc))
    save_scene(sc, out)
    console.print(f"{sc.name}: {len(sc.rooms)} rooms, {len(sc.objects)} instances, {sc.num_triangles} triangles, "
                  f"{len(sc.lights)} lights → {out}")


@app.command()
def trajectory(
    scene_dir: Path = typer.Option(..., "--scene", help="A scene folder written by `interiorvideo scene`."),
    room: int = typer.Option(0, help="Room id (see scene.json or the floor plan)."),
    frames: int = typer.Option(96, min=2, help="Number of frames."),
    fps: float = typer.Option(24.0, min=1.0, help="Frames per second."),
    seed: int = typer.Option(0, help="Random seed."),
    size: str = typer.Option("512x512", help="Image size WxH the intrinsics are for."),
    hfov: float = typer.Option(70.0, help="Horizontal field of view in degrees."),
    out: Path = typer.Option(..., help="Trajectory JSON to write; a floor-plan PNG with the path goes beside it."),
    preview: bool = typer.Option(True, help="Also write a ray-cast preview video (<out>.mp4)."),
) -> None:
    """Plan a smooth, collision-free camera walk through one room."""
    from .scene import load_scene
    from .scene.preview import floorplan_png_bytes
    from .fileio import atomic_write_bytes
    from .trajectory import NoValidTrajectoryError, TrajectorySettings, plan_trajectory
    from .trajectory.preview import write_preview_video

    width, height = parse_size(size)
    try:
        sc = load_scene(scene_dir)
        settings = TrajectorySettings(width=width, height=height, hfov_deg=hfov)
        t0 = time.perf_counter()
        traj = plan_trajectory(sc, room, frames, fps, seed, settings)
        elapsed = time.perf_counter() - t0
    except (FileNotFoundError, KeyError, ValueError, NoValidTrajectoryError) as exc:
        _fail(_message(exc))
    traj.save(out)
    png = out.with_suffix(".png")
    atomic_write_bytes(png, floorplan_png_bytes(sc, [dict(positions=traj.positions, forward=traj.forward,
                                                          label=f"room {room}, {frames} frames")]))
    rep = traj.report
    console.print(f"trajectory → {out} ({elapsed:.2f} s): {rep['path_length']:.2f} m, min clearance "
                  f"{rep['min_clearance']:.2f} m, max speed {rep['max_speed']:.2f} m/s, max angular speed "
                  f"{rep['max_angular_speed_deg']:.1f} deg/s, max jerk {rep['max_jerk']:.2f} m/s³, min view depth "
                  f"{rep['min_view_depth']:.2f} m")
    console.print(f"floor plan with path → {png}")
    if preview:
        video = write_preview_video(sc, traj, out.with_suffix(".mp4"))
        console.print(f"preview video → {video}")


@app.command()
def render(
    scene_dir: Path = typer.Option(..., "--scene", help="A scene folder."),
    trajectory_path: Path = typer.Option(..., "--trajectory", help="A trajectory JSON (`interiorvideo trajectory`)."),
    size: str = typer.Option("256x256", help="Output size WxH (intrinsics are rescaled from the trajectory's)."),
    out: Path = typer.Option(..., help="Clip folder to write (<pass>.npy, camera.json, meta.json, preview.mp4)."),
    samples: int = typer.Option(32, help="Irradiance samples per pixel (a power of two)."),
    seed: int = typer.Option(0, help="Render seed (sample streams); the same seed gives identical bytes."),
    edits: Optional[Path] = typer.Option(None, help="JSON list of scene edits to apply first "
                                                    "(e.g. [{\"kind\": \"albedo\", \"instance_id\": 12, "
                                                    "\"color\": [0.8, 0.1, 0.1]}])."),
    preview: bool = typer.Option(True, help="Write preview.mp4 with the passes side by side."),
) -> None:
    """Render one clip: every pass of the clip contract, plus a tone-mapped preview video."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    from .fileio import read_json
    from .render import Renderer, RenderSettings
    from .render.clipio import write_clip
    from .render.preview import write_preview
    from .scene import load_scene
    from .scene.edits import edit_from_dict
    from .trajectory import Trajectory

    width, height = parse_size(size)
    try:
        sc = load_scene(scene_dir)
        traj = Trajectory.load(trajectory_path)
        if edits is not None:
            raw = read_json(edits, "edits file")
            if not isinstance(raw, list):
                raise ValueError(f"{edits}: expected a JSON list of edits")
            sc = sc.with_edits(*(edit_from_dict(e) for e in raw))
        renderer = Renderer(sc, RenderSettings(samples=samples, seed=seed))
    except (FileNotFoundError, KeyError, ValueError) as exc:
        _fail(_message(exc))
    t0 = time.perf_counter()
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task(f"rendering {width}x{height}", total=traj.frames)
        clip = renderer.render_clip(traj, width, height, progress=lambda done, total: bar.update(task, completed=done))
    elapsed = time.perf_counter() - t0
    write_clip(clip, out)
    if preview:
        write_preview(clip, out / "preview.mp4")
    console.print(f"clip → {out}: {traj.frames} frames at {width}x{height} in {elapsed:.1f} s "
                  f"({traj.frames / elapsed:.2f} frames/s, {renderer.counter.rays / elapsed / 1e6:.2f} Mrays/s)")


@app.command()
def build(
    out: Path = typer.Option(..., help="Dataset folder (shards/, manifest.parquet, dataset.json). Re-run to resume."),
    scenes: int = typer.Option(4, help="Number of generated apartments."),
    rooms_per_scene: int = typer.Option(2, help="Rooms per apartment to film."),
    clips_per_room: int = typer.Option(1, help="Trajectories (clips) per room."),
    frames: int = typer.Option(16, help="Frames per clip."),
    size: str = typer.Option("128x128", help="Frame size WxH."),
    fps: float = typer.Option(24.0, help="Frames per second."),
    seed: int = typer.Option(0, help="Master seed: same seed and options give byte-identical shards."),
    samples: int = typer.Option(32, help="Irradiance samples per pixel (a power of two)."),
    shard_size: int = typer.Option(8, help="Clips per shard."),
    address: Optional[str] = typer.Option(None, help="Ray cluster address (e.g. ray://head:10001 or auto); "
                                                     "default: Ray on this machine."),
    workers: Optional[int] = typer.Option(None, help="Local Ray CPUs (default: all cores)."),
    retries: int = typer.Option(2, help="Retries per clip task before the clip is reported as failed."),
) -> None:
    """Build InteriorVideo: plan scenes → rooms → trajectories, render each clip as a Ray task,
    write WebDataset shards per split, then manifest.parquet and dataset.json."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from pipelines import BuildConfig, build_dataset
    from pipelines.ray_pool import RayUnavailable

    width, height = parse_size(size)
    try:
        config = BuildConfig(scenes=scenes, rooms_per_scene=rooms_per_scene, clips_per_room=clips_per_room,
                             frames=frames, width=width, height=height, fps=fps, seed=seed, shard_size=shard_size,
                             samples=samples)
    except ValueError as exc:
        _fail(str(exc))
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
        except (FileNotFoundError, ValueError, RayUnavailable) as exc:
            _fail(str(exc))
        except (ConnectionError, RuntimeError) as exc:
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            _fail(f"cannot start or reach {where}: {exc}")
    console.print(f"{report.clips_total} clips ({report.clips_rendered} rendered, {report.clips_reused} reused), "
                  f"{report.shards_written} shards written, {report.seconds:.1f} s → {out}")
    for line in report.skipped_rooms:
        console.print(f"[yellow]skipped[/] {line}")
    if not report.ok:
        for key, why in sorted(report.failed.items()):
            err.print(f"[bold red]failed clip {key}:[/] {why}")
        err.print(f"{len(report.failed)} clips failed after {retries} retries; finished shards are kept, "
                  f"the index is not written. Fix the cause and re-run the same command to resume.")
        raise typer.Exit(code=1)
    info(out)


@app.command()
def validate(out: Path = typer.Argument(..., help="Dataset folder.")) -> None:
    """Check every shard against the clip contract, the manifest and the checksums."""
    from pipelines.validate import validate_dataset

    try:
        problems = validate_dataset(out)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    if problems:
        for p in problems:
            err.print(f"[red]✗[/] {p}")
        err.print(f"{len(problems)} problems in {out}")
        raise typer.Exit(code=1)
    console.print(f"[green]✓[/] {out}: every shard, clip, checksum and manifest row is valid")


@app.command()
def info(out: Path = typer.Argument(..., help="Dataset folder.")) -> None:
    """Counts per split: clips, scenes, shards, frames, bytes."""
    from pipelines.validate import dataset_info

    try:
        rows = dataset_info(out)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    table = Table(title=str(out))
    for col in ("split", "clips", "scenes", "shards", "frames", "MiB"):
        table.add_column(col, justify="right" if col != "split" else "left")
    for r in rows:
        table.add_row(r["split"], str(r["clips"]), str(r["scenes"]), str(r["shards"]), str(r["frames"]),
                      f"{r['bytes'] / 2**20:.1f}")
    console.print(table)


@app.command("preview")
def preview_clip(
    out: Path = typer.Argument(..., help="Dataset folder."),
    clip: str = typer.Option(..., help="Clip key (see manifest.parquet)."),
    video: Path = typer.Option(..., "--out", help="MP4 to write: a grid of all passes."),
) -> None:
    """Write a grid video of all passes of one clip of a built dataset."""
    from pipelines.validate import find_clip

    from .render.preview import write_preview

    try:
        data = find_clip(out, clip)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        _fail(_message(exc))
    write_preview(data, video)
    console.print(f"preview of {clip} → {video}")


def main() -> Optional[int]:  # pragma: no cover - console entry point
    return app()
