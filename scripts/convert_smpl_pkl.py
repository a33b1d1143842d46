"""Convert an official SMPL model .pkl to a plain-numpy npz, once, without chumpy.

    python scripts/convert_smpl_pkl.py path/to/SMPL_NEUTRAL.pkl            # -> checkpoints/body_models/smpl/SMPL_NEUTRAL.npz
    python scripts/convert_smpl_pkl.py basicmodel_m_lbs_10_207_0_v1.1.0.pkl --gender male

The pickle is read by a restricted unpickler: only numpy arrays, scipy sparse matrices and chumpy
arrays are rebuilt (chumpy ``Ch`` objects become the numpy array they hold; sparse matrices are
rebuilt from their index arrays); any other class in the file aborts the conversion.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from genmo.body.smpl_body import read_smpl_arrays, smpl_file_name  # noqa: E402

_NUMPY_MODULES = ("numpy", "numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric")
_NUMPY_NAMES = ("ndarray", "dtype", "_reconstruct", "scalar", "_frombuffer")
_SPARSE_FORMATS = {"csc_matrix": "csc", "csr_matrix": "csr"}


class _Captured:
    """Stand-in for a chumpy or scipy object: keeps the pickled state, runs no code."""

    kind = "chumpy"
    sparse_format = ""

    def __setstate__(self, state: object) -> None:
        self.state = state


def _sparse_stub(fmt: str) -> type[_Captured]:
    return type(f"_Sparse_{fmt}", (_Captured,), {"kind": "sparse", "sparse_format": fmt})


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that maps chumpy and scipy sparse classes to inert stand-ins and refuses the rest."""

    def find_class(self, module: str, name: str) -> object:
        if module in _NUMPY_MODULES and name in _NUMPY_NAMES:
            return super().find_class(module.replace("numpy.core", "numpy._core") if hasattr(np, "_core") else module, name)
        if (module, name) in (("copyreg", "_reconstructor"), ("builtins", "object"), ("_codecs", "encode")):
            return super().find_class(module, name)
        if module.split(".")[0] == "chumpy":
            return _Captured
        if module.startswith("scipy.sparse") and name in _SPARSE_FORMATS:
            return _sparse_stub(_SPARSE_FORMATS[name])
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from an SMPL pickle")


def to_numpy(value: object, key: str) -> np.ndarray | None:
    """A pickled SMPL entry as a numpy array (None for strings and other metadata)."""
    if isinstance(value, _Captured):
        state = value.state if isinstance(value.state, dict) else {}
        if value.kind == "chumpy":
            if "x" not in state:
                raise ValueError(f"SMPL key {key!r}: chumpy object without a stored value")
            return np.asarray(state["x"])
        from scipy import sparse

        shape = state.get("_shape", state.get("shape"))
        parts = (np.asarray(state["data"]), np.asarray(state["indices"]), np.asarray(state["indptr"]))
        build = sparse.csc_matrix if value.sparse_format == "csc" else sparse.csr_matrix
        return build(parts, shape=tuple(shape)).toarray()
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
        return value
    return None


def convert(src: Path, dst: Path) -> dict[str, np.ndarray]:
    """Read an SMPL pickle, write its numeric arrays to ``dst`` (npz) and check the result loads."""
    with open(src, "rb") as fh:
        raw = RestrictedUnpickler(fh, encoding="latin1").load()
    if not isinstance(raw, dict):
        raise ValueError(f"{src}: expected a pickled dict of SMPL arrays, got {type(raw).__name__}")
    arrays = {}
    for key, value in raw.items():
        arr = to_numpy(value, key)
        if arr is not None:
            arrays[key] = arr.astype(np.float32) if arr.dtype.kind == "f" else arr.astype(np.int64)
    dst.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(dst, **arrays)
    read_smpl_arrays(dst)
    return arrays


def main() -> None:
    parser = argparse.ArgumentParser(description="Convert an official SMPL .pkl to the npz genmo loads.")
    parser.add_argument("pkl", type=Path)
    parser.add_argument("--gender", default="neutral", choices=("neutral", "male", "female"))
    parser.add_argument("--out", type=Path, default=None, help="default: checkpoints/body_models/smpl/SMPL_<GENDER>.npz")
    args = parser.parse_args()
    out = args.out or REPO / "checkpoints" / "body_models" / "smpl" / smpl_file_name(args.gender)
    try:
        arrays = convert(args.pkl, out)
    except (OSError, ValueError, pickle.UnpicklingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"wrote {out} ({len(arrays['v_template'])} vertices, {arrays['shapedirs'].shape[-1]} shape components)")


if __name__ == "__main__":
    main()
