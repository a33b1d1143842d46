"""The evaluation result (the JSON object of `genmo eval`) as markdown tables."""

from __future__ import annotations

ESTIMATION_COLUMNS = (("mpjpe", "MPJPE"), ("pa_mpjpe", "PA-MPJPE"), ("pve", "PVE"), ("accel", "Accel"),
                      ("w_mpjpe100", "W-MPJPE100"), ("wa_mpjpe100", "WA-MPJPE100"), ("rte", "RTE %"),
                      ("jitter", "Jitter"), ("foot_sliding", "FS"))
TEXT_COLUMNS = (("r_precision_top1", "R@1"), ("r_precision_top2", "R@2"), ("r_precision_top3", "R@3"),
                ("fid", "FID"), ("matching_score", "MM-Dist"), ("diversity", "Diversity"),
                ("multimodality", "MModality"), ("action_accuracy", "Action acc."), ("foot_sliding", "FS"))
MUSIC_COLUMNS = (("bas", "BAS"), ("pfc", "PFC"), ("diversity_k", "Div_k"), ("foot_sliding", "FS"))
INBETWEEN_COLUMNS = (("keyframe_pa_mpjpe", "Key PA-MPJPE"), ("keyframe_wa_mpjpe", "Key WA-MPJPE"),
                     ("transition_jerk", "Transition jerk"), ("foot_sliding", "FS"))
MULTITEXT_COLUMNS = (("boundary_peak_accel", "Boundary peak accel"), ("interior_mean_accel", "Interior mean accel"),
                     ("real_p99_accel", "Real p99 accel"), ("peak_to_real_p99", "Peak / real p99"),
                     ("boundaries_above_real_p99", "Boundaries > p99"))


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"
    return str(value)


def _steps(steps: str) -> str:
    return f"{steps} step" if str(steps) == "1" else f"{steps} steps"


def table(columns: tuple[tuple[str, str], ...], rows: list[tuple[str, dict]], first: str = "") -> str:
    """A markdown table: one row per (name, values), one column per (key, header)."""
    head = "| " + " | ".join([first] + [h for _, h in columns]) + " |"
    rule = "|" + "---|" * (len(columns) + 1)
    body = ["| " + " | ".join([name] + [_cell(values.get(k)) for k, _ in columns]) + " |" for name, values in rows]
    return "\n".join([head, rule, *body])


def markdown_report(result: dict) -> str:
    """The whole report: a header naming checkpoint, corpus and split, then one table per task."""
    out = [f"# GENMO evaluation ({'quick' if result.get('quick') else 'full'})", "",
           f"- checkpoint: `{result.get('checkpoint')}`", f"- corpus: `{result.get('corpus')}`, split: **{result.get('split')}**",
           f"- temporal smoothing of sampled motion: sigma {result.get('smooth_sigma', 0.0)} frames",
           f"- runtime: {result.get('runtime_s', {}).get('total')} s", ""]
    est = result.get("estimation")
    if est:
        rows = [(_steps(s), v) for s, v in est["steps"].items()]
        occ = result.get("estimation_occluded")
        if occ:
            rows += [(f"{_steps(s)}, {round(occ['occlusion'] * 100)}% occluded", v) for s, v in occ["steps"].items()]
        rows.append(("real", est.get("real", {})))
        out += ["## Estimation from 2D keypoints (held-out virtual cameras)", "",
                f"{est['clips']} test clips, {est['frames']} frames; mm except Accel (m/s²), RTE (%), "
                "Jitter (10 m/s³), FS (mm/frame).", "", table(ESTIMATION_COLUMNS, rows, "setting"), ""]
    t2m = result.get("text_to_motion")
    if t2m:
        out += ["## Text to motion", "", f"{t2m['clips']} test clips, {t2m['steps']} steps, guidance {t2m['guidance']}.", "",
                table(TEXT_COLUMNS, [("generated", t2m["generated"]), ("real", t2m["real"])]), ""]
        per = t2m["generated"].get("action_accuracy_per_label")
        if per:
            real = t2m["real"].get("action_accuracy_per_label", {})
            out += ["Action accuracy per label:", "",
                    table((("generated", "generated"), ("real", "real")),
                          [(k, {"generated": v, "real": real.get(k)}) for k, v in per.items()], "label"), ""]
    music = result.get("music")
    if music:
        out += ["## Music to dance", "", f"{music['segments']} segments of {music['segment_frames']} frames from "
                f"{music['songs']} test songs, {music['steps']} steps.", "",
                table(MUSIC_COLUMNS, [("generated", music["generated"]), *(
                    (f"{music['prompt']!r} {label}", music[key]) for key, label in
                    (("prompt_with_music", "+ music"), ("prompt_without_music", "without music")) if key in music),
                    ("real", music["real"]),
                    *((("real, beats shifted", music["real_beats_shifted"]),) if "real_beats_shifted" in music else ())]), ""]
    inb = result.get("inbetween")
    if inb:
        rows = [(f"{k} keyframes", v) for k, v in inb.items() if k.isdigit()] + [("real", inb["real"])]
        out += ["## In-betweening", "", f"{inb['clips']} test segments of {inb['frames']} frames, {inb['steps']} steps; "
                "keyframe errors in mm, jerk in m/s³.", "", table(INBETWEEN_COLUMNS, rows), ""]
    multi = result.get("multitext")
    if multi:
        out += ["## Multi-text timelines", "", f"{multi['timelines']} timelines of {multi['prompts']} prompts × "
                f"{multi['window_frames']} frames, {multi['steps']} steps; accelerations in m/s².", "",
                table(MULTITEXT_COLUMNS, [("generated", multi)]), ""]
    den = result.get("denoising")
    if den:
        names = ("model", "copy_xt", "scaled_xt", "mean")
        lines = ["| t | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        lines += [f"| {t} | " + " | ".join(f"{den[n][i]:.4g}" for n in names) + " |" for i, t in enumerate(den["t"])]
        out += ["## Denoising profile", "", f"{den['windows']} {den['split']} windows; normalised MSE of x_0 over the "
                f"world fields. Beats every baseline at every t: **{'yes' if den['beats_every_baseline'] else 'no'}**.",
                "", *lines, ""]
    beh = result.get("behaviours")
    if beh:
        from genmo.eval.behaviours import behaviour_table

        out += ["## Behaviour checks", "", behaviour_table(beh), ""]
    skipped = result.get("skipped")
    if skipped:
        out += ["## Skipped", ""] + [f"- {k}: {v}" for k, v in skipped.items()] + [""]
    return "\n".join(out)
