"""Dual-mode training losses with per-sample loss masks (GENMO paper §3.3; docs/model.md §5).

- estimation mode (samples with 2D observations): x_t = zeros (or noise) at t = T-1, regress x_0;
- generation mode (all samples): t ~ U{0..T-1}, x_t = q_sample(x_0, t), regress x_0;
- 2D-only samples (has_2d and not has_3d): their x_0 target is the detached estimation
  prediction x̂_0 (estimation-guided generation) and only the 2D reprojection loss applies.
Terms: simple (MSE on normalised x_0; camera fields only where has_2d); joints_local (MSE of the
pelvis-relative joints posed with the root tilt only, so no heading or trajectory drift enters);
joints_vel (MSE of those joints' frame-to-frame differences: high-frequency error, jitter);
transl (L1 of the rolled-out pelvis path); heading (L1 of the rolled-out heading, radians: a bias in
the per-frame yaw velocity that no other term sees, since joints_local has no heading and a body
that does not travel has no path, integrates into a turn); joints_world (MSE of the world joints, trajectory
included: the v1/v2 term, off in v3 configs); joints_cam (MSE of pelvis-relative camera-space
joints); contacts (MSE on the contact channels); foot_skate (foot joint speed where the ground
truth is in contact) and reproj (camera-space joints projected with the sample's intrinsics into
normalised bbox coordinates, compared with the observed 2D keypoints; squared up to REPROJ_HUBER,
linear beyond).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genmo.body.kinematics import forward_kinematics
from genmo.body.rotations import rot6d_to_matrix
from genmo.body.skeleton import CONTACT_JOINTS, FOOT_JOINTS, NUM_JOINTS
from genmo.constants import MODEL_FPS
from genmo.diffusion.schedule import NoiseSchedule
from genmo.model.batch import select
from genmo.model.config import GenmoConfig
from genmo.motion.normalizer import Normalizer
from genmo.motion.representation import CAMERA_FIELDS, LAYOUT, decode, field_mask

# COCO-17 body keypoints 5..16 (shoulders, elbows, wrists, hips, knees, ankles) and their SMPL joints.
COCO_BODY = (5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
SMPL_FOR_COCO_BODY = (16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8)
MIN_DEPTH = 0.3
REPROJ_HUBER = 0.2  # normalised bbox units (the box spans [-1, 1])
OBSERVATION_KEYS = ("kp2d", "bbox", "video", "cam_angvel")


def project_to_bbox(points_cam: Tensor, intrinsics: Tensor, bbx_xys: Tensor) -> Tensor:
    """Camera-space points (B, T, J, 3) -> normalised bbox coordinates 2 (uv - c) / s (B, T, J, 2).

    intrinsics (B, 3, 3) in pixels; bbx_xys (B, T, 3) bbox centre and size in pixels; depth is
    clamped to MIN_DEPTH so points behind the camera stay finite.
    """
    z = points_cam[..., 2:3].clamp(min=MIN_DEPTH)
    xy = points_cam[..., :2] / z
    k = intrinsics[:, None, None]
    uv = torch.stack((k[..., 0, 0] * xy[..., 0] + k[..., 0, 2], k[..., 1, 1] * xy[..., 1] + k[..., 1, 2]), dim=-1)
    centre, size = bbx_xys[..., None, :2], bbx_xys[..., None, 2:3].clamp(min=1e-3)
    return 2 * (uv - centre) / size


def local_joints(x: Tensor, rest_joints: Tensor) -> Tensor:
    """Pelvis-relative joints (B, T, 24, 3) of unnormalised motion vectors posed with the root tilt
    only (heading removed): the body's shape of pose, free of the integrated heading and path."""
    root = rot6d_to_matrix(x[..., LAYOUT["root_tilt"]])
    body = rot6d_to_matrix(x[..., LAYOUT["body_pose"]].unflatten(-1, (NUM_JOINTS - 1, 6)))
    rots = torch.cat((root[..., None, :, :], body), dim=-3)
    rest = rest_joints[..., None, :, :]
    _, joints = forward_kinematics(rots, rest, torch.zeros_like(x[..., :3]))
    return joints


def heading_error(pred: Tensor, gt: Tensor) -> Tensor:
    """(..., T) heading error in radians of motion vectors rolled out as decode does: both start
    at heading 0, so the error at frame i is the sum of the yaw velocity errors before it."""
    d = pred[..., LAYOUT["yaw_vel"]][..., 0] - gt[..., LAYOUT["yaw_vel"]][..., 0]
    return torch.cumsum(d, dim=-1) - d


def _masked_mean(err: Tensor, mask: Tensor, weight: Tensor | None = None) -> Tensor:
    """Mean of err over the entries where mask is True (mask broadcast to err); 0 if none.
    weight (B,), if given, scales each sample's entries (the count of entries is not reweighted)."""
    mask = mask.expand_as(err)
    if weight is not None:
        err = err * weight.view(-1, *([1] * (err.ndim - 1)))
    total = torch.where(mask, err, torch.zeros_like(err)).sum()
    return total / mask.sum().clamp(min=1)


class DualModeLoss(nn.Module):
    """Wraps the denoiser; forward(batch) -> (weighted loss, logged terms).

    All passes of one step run inside this module's forward, so DistributedDataParallel wraps
    this module (one forward per backward) rather than the bare denoiser.
    """

    def __init__(self, model: nn.Module, cfg: GenmoConfig, schedule: NoiseSchedule, normalizer: Normalizer):
        super().__init__()
        self.model = model
        self.cfg = cfg
        self.schedule = schedule
        self.normalizer = normalizer
        self.register_buffer("camera_dims", field_mask(CAMERA_FIELDS), persistent=False)

    # --- condition dropout -------------------------------------------------------------
    def drop_conditions(self, batch: dict) -> dict:
        """Training-time condition dropout (docs/model.md §5); returns a new batch, has_2d updated."""
        tc = self.cfg.train
        out = dict(batch)
        cond_mask = {k: m.clone() for k, m in batch["cond_mask"].items()}
        b, length = batch["valid"].shape
        dev = batch["valid"].device
        for key in cond_mask:
            cond_mask[key] &= torch.rand(b, length, device=dev) >= tc.p_frame_drop
        text_present = batch["text_present"] & (torch.rand(b, 1, device=dev) >= tc.p_text_drop)
        cond_mask["music"] &= (torch.rand(b, 1, device=dev) >= tc.p_music_drop)
        generative = batch["text_present"].any(dim=1) | batch["cond_mask"]["music"].any(dim=1)
        observed = batch["cond_mask"]["kp2d"].any(dim=1) | batch["cond_mask"]["video"].any(dim=1)
        # The same in every train.mode, so the ablation arms see the same share of samples with 2D.
        # Generation samples: the observation AND its camera go together (neither exists when generating).
        drop_obs = generative & (torch.rand(b, device=dev) < tc.p_obs_drop_for_gen)
        for key in OBSERVATION_KEYS:
            cond_mask[key] &= ~drop_obs[:, None]
        # Estimation samples: mostly without text and music, so 2D is never a shortcut around them.
        drop_gen = observed & ~drop_obs & (torch.rand(b, device=dev) < tc.p_gen_drop_for_est)
        text_present = text_present & ~drop_gen[:, None]
        cond_mask["music"] &= ~drop_gen[:, None]
        out["cond_mask"] = cond_mask
        out["text_present"] = text_present
        out["has_2d"] = batch["has_2d"] & cond_mask["kp2d"].any(dim=1)
        return out

    # --- loss terms ----------------------------------------------------------------------
    def reconstruction_terms(self, pred_n: Tensor, batch: dict, sample_mask: Tensor,
                             weight: Tensor | None = None) -> dict[str, Tensor]:
        """Every term but reproj for the samples in sample_mask (B,), each sample's errors scaled by
        weight (B,) if given."""
        valid = batch["valid"] & sample_mask[:, None]  # (B, T)
        cam_ok = batch["has_2d_orig"][:, None, None] | ~self.camera_dims  # (B, 1, D)
        terms = {"simple": _masked_mean((pred_n - batch["x0"]) ** 2, valid[..., None] & cam_ok, weight)}
        pred = self.normalizer.denormalize(pred_n)
        gt = self.normalizer.denormalize(batch["x0"])
        rest = batch["rest_joints"]
        dp, dg = decode(pred, rest), decode(gt, rest)
        terms["joints_world"] = _masked_mean((dp["joints_world"] - dg["joints_world"]) ** 2, valid[..., None, None],
                                             weight)
        rel = local_joints(pred, rest) - local_joints(gt, rest)
        terms["joints_local"] = _masked_mean(rel ** 2, valid[..., None, None], weight)
        pair_valid = valid[:, 1:] & valid[:, :-1]
        terms["joints_vel"] = _masked_mean((rel[:, 1:] - rel[:, :-1]) ** 2, pair_valid[..., None, None], weight)
        terms["transl"] = _masked_mean((dp["root_pos"] - dg["root_pos"]).abs(), valid[..., None], weight)
        terms["heading"] = _masked_mean(heading_error(pred, gt).abs(), valid, weight)
        rel_p = dp["joints_cam"] - dp["joints_cam"][..., :1, :]
        rel_g = dg["joints_cam"] - dg["joints_cam"][..., :1, :]
        cam_valid = valid & batch["has_2d_orig"][:, None]
        terms["joints_cam"] = _masked_mean((rel_p - rel_g) ** 2, cam_valid[..., None, None], weight)
        contact_sl = LAYOUT["contacts"]
        terms["contacts"] = _masked_mean((pred[..., contact_sl] - gt[..., contact_sl]) ** 2, valid[..., None], weight)
        foot_channels = [CONTACT_JOINTS.index(j) for j in FOOT_JOINTS]
        feet = dp["joints_world"][..., list(FOOT_JOINTS), :]
        speed = (feet[:, 1:] - feet[:, :-1]).norm(dim=-1) * MODEL_FPS  # (B, T-1, 4) m/s
        in_contact = gt[:, :-1, contact_sl][..., foot_channels] > 0.5
        terms["foot_skate"] = _masked_mean(speed, in_contact & pair_valid[..., None], weight)
        return terms

    def reprojection_term(self, pred_n: Tensor, batch: dict, sample_mask: Tensor,
                          weight: Tensor | None = None) -> Tensor:
        """MSE between projected predicted joints and visible observed 2D keypoints (normalised bbox coords)."""
        pred = self.normalizer.denormalize(pred_n)
        joints_cam = decode(pred, batch["rest_joints"])["joints_cam"][..., list(SMPL_FOR_COCO_BODY), :]
        uv = project_to_bbox(joints_cam, batch["K_intrinsics"], batch["bbx_xys"])
        kp = batch["kp2d_target"][..., list(COCO_BODY), :]
        visible = (kp[..., 2] > 0.5) & batch["kp2d_mask_target"][..., None] & batch["valid"][..., None]
        visible = visible & sample_mask[:, None, None]
        # squared error up to REPROJ_HUBER, linear beyond: a joint projected far off (a nearly
        # degenerate camera early in training, or a high-noise step) cannot swamp the batch
        err = 2 * F.huber_loss(uv, kp[..., :2], reduction="none", delta=REPROJ_HUBER)
        return _masked_mean(err, visible[..., None], weight)

    # --- one training step -----------------------------------------------------------------
    def forward(self, batch: dict) -> tuple[Tensor, dict[str, float]]:
        """Total weighted loss and a dict of its (unweighted) terms per mode ("est/simple", ...)."""
        model = self.model
        tc = self.cfg.train
        weights = tc.loss_weights
        b = batch["x0"].shape[0]
        dev = batch["x0"].device
        has_3d = batch.get("has_3d", torch.ones(b, dtype=torch.bool, device=dev))
        batch = dict(batch, has_2d_orig=batch["has_2d"], has_3d=has_3d,
                     kp2d_target=batch["cond"]["kp2d"], kp2d_mask_target=batch["cond_mask"]["kp2d"])
        dropped = self.drop_conditions(batch)
        if tc.mode == "regression_only":
            dropped["has_2d"] = torch.ones_like(dropped["has_2d"])
        use_2d = tc.use_2d_loss
        total = batch["x0"].new_zeros(())
        logs: dict[str, float] = {}

        def add(prefix: str, terms: dict[str, Tensor]) -> None:
            nonlocal total
            for name, value in terms.items():
                total = total + weights[name] * value
                logs[f"{prefix}/{name}"] = float(value.detach())

        x_hat = None
        last = torch.full((b,), self.schedule.last_step, dtype=torch.long, device=dev)
        est_mask = dropped["has_2d"]
        need_est = tc.mode != "diffusion_only" and bool(est_mask.any())
        two_d_only = batch["has_2d_orig"] & ~has_3d
        if need_est:
            idx = est_mask.nonzero()[:, 0]
            sub = select(dropped, idx)
            pred = model(self.estimation_input(sub["x0"]), last[idx], sub)
            terms = self.reconstruction_terms(pred, sub, sub["has_3d"])
            if use_2d:
                terms["reproj"] = self.reprojection_term(pred, sub, sub["has_2d_orig"])
            add("est", terms)
            x_hat = torch.zeros_like(batch["x0"])
            x_hat[idx] = pred.detach()
        if tc.mode == "regression_only":
            return total, logs
        in_est = est_mask if need_est else torch.zeros_like(est_mask)
        missing = (two_d_only & ~in_est).nonzero()[:, 0]
        if len(missing):  # estimation-guided targets for 2D-only samples left out of the est pass
            x_hat = torch.zeros_like(batch["x0"]) if x_hat is None else x_hat
            sub = select(dropped, missing)
            with torch.no_grad():
                x_hat[missing] = model(self.estimation_input(sub["x0"]), last[missing], sub)
        target = batch["x0"] if x_hat is None else torch.where(has_3d[:, None, None], batch["x0"], x_hat)
        t = self.schedule.sample_timesteps(b, dev, tilt=tc.timestep_tilt)
        x_t = self.schedule.q_sample(target, t, torch.randn_like(target))
        if tc.chain_prob > 0 and need_est:
            x_t = self.chain_input(x_t, t, x_hat, dropped)
        pred = model(x_t, t, dropped)
        weight = self.timestep_weight(t, pred)
        terms = self.reconstruction_terms(pred, dropped, has_3d, weight)
        if use_2d:
            terms["reproj"] = self.reprojection_term(pred, dropped, batch["has_2d_orig"], weight)
        add("gen", terms)
        return total, logs

    def chain_input(self, x_t: Tensor, t: Tensor, x_hat: Tensor, batch: dict) -> Tensor:
        """x_t with, for a train.chain_prob share of the samples estimated from 2D alone (no text or
        music), the input several-step estimation gives the denoiser instead: the estimation pass's
        x_0 scaled by sqrt(alpha_bar_t), with no noise (genmo/diffusion/ddim.py, init "observed")."""
        b = x_t.shape[0]
        generative = batch["text_present"].any(dim=1) | batch["cond_mask"]["music"].any(dim=1)
        chain = batch["has_2d"] & ~generative & (torch.rand(b, device=x_t.device) < self.cfg.train.chain_prob)
        a = self.schedule.alpha_bar(t, x_t)
        return torch.where(chain[:, None, None], a.sqrt() * x_hat, x_t)

    def timestep_weight(self, t: Tensor, like: Tensor) -> Tensor | None:
        """Per-sample weight min(1 / (1 - alpha_bar_t), train.small_t_weight_cap) of the generation
        terms, or None when the cap is 1. An x_0 loss weighs the v / F output of an x_t-skip denoiser
        by (1 - alpha_bar_t), so small t, where that output must cancel the remaining noise, is
        barely trained; this is the v-prediction loss, truncated at the cap."""
        cap = self.cfg.train.small_t_weight_cap
        if cap <= 1.0:
            return None
        a = self.schedule.alpha_bar(t, t.to(like.dtype))
        return (1.0 / (1.0 - a).clamp(min=1.0 / cap)).to(like.dtype)

    def estimation_input(self, x0: Tensor) -> Tensor:
        """x_{T-1} of the estimation pass: zeros or standard noise."""
        if self.cfg.diffusion.estimation_input == "zeros":
            return torch.zeros_like(x0)
        return torch.randn_like(x0)
