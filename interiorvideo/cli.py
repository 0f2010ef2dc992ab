"""``interiorvideo``: the InteriorVideo dataset tools (a thin layer over the library)."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import NoReturn, Optional

import typer
from rich.console import Console
from rich.table import Table

from .dataset import Dataset
from .dataset_check import validate_dataset

app = typer.Typer(help="InteriorVideo: indoor scenes, camera trajectories and (soon) clips and shards.",
                  no_args_is_help=True, add_completion=False)
console = Console()
err = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> NoReturn:
    """One error line on stderr, exit status 2 (the CLIs' bad-input convention)."""
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


SKY_HELP = ("physical (Preetham daylight, the sun where the scene's sun light is), gradient, or an equirectangular "
            ".exr/.hdr map (copied into the scene folder with its SHA-256). Default: the scene's own sky, physical for "
            "generated and imported meshes.")
SKY_STRENGTH_HELP = "Sky intensity: the physical sky's zenith luminance, the map's or gradient's scale (default: kept)."


def with_sky(sc, sky: Optional[str], strength: Optional[float], rotation: float):
    """The scene with the sky ``--sky`` names (its intensity kept unless ``--sky-strength``)."""
    from dataclasses import replace

    from .scene.sky import sky_from_spec

    if sky is None and strength is None:
        return sc
    sky = sky or sc.sky.kind
    if sky == "map":  # only --sky-strength given, for a scene with a map: rescale that map
        return replace(sc, sky=replace(sc.sky, intensity=float(strength)))
    try:
        return replace(sc, sky=sky_from_spec(sky, sc.lights, sc.sky.intensity if strength is None else strength,
                                             rotation))
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))


@app.command()
def scene(
    seed: int = typer.Option(0, min=0, help="Random seed; the same seed gives byte-identical files."),
    out: Path = typer.Option(..., help="Output folder (scene.glb, scene.json, floorplan.png)."),
    sky: Optional[str] = typer.Option(None, help=SKY_HELP),
    sky_strength: Optional[float] = typer.Option(None, help=SKY_STRENGTH_HELP),
    sky_rotation: float = typer.Option(0.0, help="Turn a map sky counter-clockwise about +Z, degrees."),
) -> None:
    """Generate a furnished multi-room apartment and write it as a scene folder."""
    from .scene import generate_scene, save_scene

    t0 = time.perf_counter()
    sc = with_sky(generate_scene(seed), sky, sky_strength, sky_rotation)
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
    paths: list[Path] = typer.Argument(..., help="Mesh files: .glb/.gltf, .obj (+.mtl), .ply; or one 3D-FRONT "
                                                 "house .json with --future."),
    out: Path = typer.Option(..., help="Output scene folder (scene.glb, scene.json, floorplan.png); must not "
                                       "exist yet unless --force."),
    rooms: Optional[str] = typer.Option(None, help="per-file | floor-split | single (default: per-file for "
                                                    "several files, floor-split for one)."),
    up: str = typer.Option("auto", help="Up axis of the files: auto (detected from the geometry; +Y, the glTF "
                                        "and Blender convention, unless the evidence says +Z), y or z."),
    units: str = typer.Option("auto", help="Units of the files: auto (detected from the storey height), m, cm, "
                                           "mm, in or ft."),
    scale: Optional[float] = typer.Option(None, help="File units × SCALE = metres (overrides --units)."),
    default_lights: bool = typer.Option(False, "--default-lights", help="If the files bring no light, add a grid "
                                                                       "of ceiling point lights to every room."),
    force: bool = typer.Option(False, "--force", help="Replace an existing scene folder at --out."),
    name: Optional[str] = typer.Option(None, help="Scene name (default: the first file's stem)."),
    future: Optional[Path] = typer.Option(None, help="3D-FRONT: the 3D-FUTURE-model folder (<jid>/raw_model.obj, "
                                                     "model_info.json)."),
    textures: Optional[Path] = typer.Option(None, help="3D-FRONT: a local 3D-FRONT-texture folder for floors "
                                                       "and walls (optional)."),
    sky: Optional[str] = typer.Option(None, help=SKY_HELP),
    sky_strength: Optional[float] = typer.Option(None, help=SKY_STRENGTH_HELP),
    sky_rotation: float = typer.Option(0.0, help="Turn a map sky counter-clockwise about +Z, degrees."),
) -> None:
    """Import your own meshes, or a 3D-FRONT house, as a scene folder the rest of the platform
    reads. Prints what it assumed (up axis, units, with the evidence) and every warning; both are
    kept in scene.json."""
    from .scene.importers import SceneImportError, import_front3d, import_scene
    from .scene.lighting import default_light_rig

    if out.exists() and not force:
        fail(f"{out} already exists; choose another --out or pass --force to replace it")
    front3d = future is not None or textures is not None or any(p.suffix.lower() == ".json" for p in paths)
    if front3d:
        if len(paths) != 1 or paths[0].suffix.lower() != ".json":
            fail("a 3D-FRONT import takes exactly one house .json (and --future DIR)")
        if future is None:
            fail(f"{paths[0]}: a 3D-FRONT house needs --future DIR, the 3D-FUTURE-model folder its furniture is in")
        if rooms is not None or up != "auto" or units != "auto" or scale is not None:
            fail("--rooms, --up, --units and --scale do not apply to 3D-FRONT: its rooms, +Y up and metres are "
                 "stated by the format")
    elif rooms is not None and rooms not in ("per-file", "floor-split", "single"):
        raise typer.BadParameter(f"--rooms must be per-file, floor-split or single, got {rooms!r}")
    if up not in ("auto", "y", "z"):
        raise typer.BadParameter(f"--up must be auto, y or z, got {up!r}")
    try:
        if front3d:
            with warnings.catch_warnings():  # printed below, once, from the scene's record
                warnings.simplefilter("ignore")
                sc = import_front3d(paths[0], future, texture_dir=textures, name=name)
            if default_lights and not sc.lights:
                sc = default_light_rig(sc)
        else:
            sc = import_scene(paths, rooms=rooms, up=up, units=units, scale=scale, name=name,
                              default_lights=default_lights)
    except (SceneImportError, FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    _report_and_save(with_sky(sc, sky, sky_strength, sky_rotation), out, force)


def _report_and_save(sc, out: Path, force: bool) -> None:
    """Print the import's assumptions and warnings, then write the scene folder whole: a failed
    save leaves what was there before."""
    from .fileio import atomic_directory
    from .scene import save_scene

    for note in sc.source.get("assumptions", []):
        console.print(f"[cyan]assumed[/] {note}")
    for warning in sc.source.get("warnings", []):
        err.print(f"[yellow]warning:[/] {warning}")
    with atomic_directory(out, replace=force) as tmp:
        save_scene(sc, tmp)
    kinds = ", ".join(r.kind for r in sc.rooms)
    console.print(f"{sc.name}: {len(sc.rooms)} rooms ({kinds}), {len(sc.objects)} instances, {sc.num_triangles} "
                  f"triangles, {len(sc.lights)} lights → {out}")


@app.command()
def trajectory(
    scene_dir: Path = typer.Option(..., "--scene", help="A scene folder written by `interiorvideo scene`."),
    room: int = typer.Option(0, help="Room id (see scene.json or the floor plan)."),
    frames: int = typer.Option(96, min=2, help="Number of frames."),
    fps: float = typer.Option(24.0, min=1.0, help="Frames per second."),
    seed: int = typer.Option(0, min=0, help="Random seed."),
    size: str = typer.Option("512x512", help="Image size WxH the intrinsics are for."),
    hfov: float = typer.Option(70.0, help="Horizontal field of view in degrees."),
    out: Path = typer.Option(..., help="Trajectory JSON to write; a floor-plan PNG with the path goes beside it."),
    preview: bool = typer.Option(True, help="Also write a ray-cast preview video (<out>.mp4)."),
) -> None:
    """Plan a smooth, collision-free camera walk through one room."""
    from .fileio import atomic_write_bytes
    from .scene import load_scene
    from .scene.preview import floorplan_png_bytes
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
        fail(_message(exc))
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
    pixel_samples: int = typer.Option(4, help="Positions per pixel that rgb and irradiance are averaged over "
                                              "(anti-aliasing; a power of two; 1 = pixel centres). The "
                                              "intrinsic passes are pixel-centre samples."),
    seed: int = typer.Option(0, min=0, help="Render seed (sample streams); the same seed gives identical bytes."),
    edits: Optional[Path] = typer.Option(None, help="JSON list of scene edits to apply first "
                                                    "(e.g. [{\"kind\": \"albedo\", \"instance_id\": 12, "
                                                    "\"color\": [0.8, 0.1, 0.1]}])."),
    preview: bool = typer.Option(True, help="Write preview.mp4 with the passes side by side."),
    backend: str = typer.Option("cpu", help="cpu (this project's path tracer) or mitsuba (rgb and irradiance by "
                                            "Mitsuba 3 with the same material model; intrinsic passes as cpu)."),
    mitsuba_variant: Optional[str] = typer.Option(None, help="--backend mitsuba: cuda_ad_rgb or llvm_ad_rgb "
                                                             "(default: cuda_ad_rgb when a CUDA driver is present)."),
) -> None:
    """Render one clip: every pass of the clip contract, plus a tone-mapped preview video."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from .edits.scene import apply_scene_edits
    from .edits.serialise import scene_edit_from_dict
    from .fileio import atomic_write_bytes, read_json
    from .render import RenderSettings
    from .render.clipio import write_clip
    from .render.mitsuba_backend import MitsubaUnavailable, make_renderer
    from .render.preview import preview_bytes
    from .scene import load_scene
    from .trajectory import Trajectory

    width, height = parse_size(size)
    try:
        sc = load_scene(scene_dir)
        traj = Trajectory.load(trajectory_path)
        if traj.scene and traj.scene != sc.name:
            raise ValueError(f"{trajectory_path} was planned for scene {traj.scene!r}, but --scene {scene_dir} is "
                             f"{sc.name!r}: plan one for this scene (interiorvideo trajectory)")
        if traj.room_id >= 0 and traj.room_id not in {r.room_id for r in sc.rooms}:
            raise ValueError(f"{trajectory_path} walks room {traj.room_id}, which {scene_dir} does not have")
        if edits is not None:
            raw = read_json(edits, "edits file")
            if not isinstance(raw, list):
                raise ValueError(f"{edits}: expected a JSON list of edits")
            sc = apply_scene_edits(sc, [scene_edit_from_dict(e) for e in raw])
        renderer = make_renderer(sc, RenderSettings(samples=samples, pixel_samples=pixel_samples, seed=seed),
                                 backend, mitsuba_variant)
    except (FileNotFoundError, KeyError, ValueError, MitsubaUnavailable) as exc:
        fail(_message(exc))
    t0 = time.perf_counter()
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task(f"rendering {width}x{height}", total=traj.frames)
        clip = renderer.render_clip(traj, width, height, progress=lambda done, total: bar.update(task, completed=done))
    elapsed = time.perf_counter() - t0
    video = preview_bytes(clip) if preview else None  # made before anything is written
    write_clip(clip, out)
    if video is not None:
        atomic_write_bytes(out / "preview.mp4", video)
    console.print(f"clip → {out}: {traj.frames} frames at {width}x{height} in {elapsed:.1f} s "
                  f"({traj.frames / elapsed:.2f} frames/s, {renderer.counter.rays / elapsed / 1e6:.2f} Mrays/s)")


@app.command()
def validate(out: Path = typer.Argument(..., help="Dataset folder.")) -> None:
    """Check every shard against the clip contract, the manifest and the checksums."""
    try:
        problems = validate_dataset(Dataset.open(out))
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    if problems:
        for p in problems:
            err.print(f"[red]✗[/] {p}")
        err.print(f"{len(problems)} problems in {out}")
        raise typer.Exit(code=1)
    console.print(f"[green]✓[/] {out}: every shard, clip, checksum and manifest row is valid")


@app.command()
def info(out: Path = typer.Argument(..., help="Dataset folder.")) -> None:
    """Counts per split: clips, scenes, shards, frames, bytes."""
    try:
        rows = Dataset.open(out).info()
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))
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
    from .render.preview import write_preview

    try:
        data = Dataset.open(out).read_clip(clip)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        fail(_message(exc))
    write_preview(data, video)
    console.print(f"preview of {clip} → {video}")


def main() -> Optional[int]:  # pragma: no cover - console entry point
    return app()
