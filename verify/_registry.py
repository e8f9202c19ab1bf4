"""The `@check` decorator and the `Trial` every check receives.

A check proves one claim. pytest collects it once per (device, dtype) it declares
(verify/conftest.py) and passes it a `Trial`, the fixture `t`, that fixes the device,
the dtype and the seed. Data are drawn on the CPU from a seeded generator and then
moved, so every device sees the same input.
"""
import inspect
import numbers
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

KINDS = ("exact", "statistical", "demonstration")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def signature_defaults(fn) -> dict:
    """The keyword defaults of `fn`, read off its signature: what a page states, without running it twice."""
    return {k: p.default for k, p in inspect.signature(fn).parameters.items() if p.default is not p.empty}


def seed_global(device: str, seed: int) -> None:
    """Seed torch's global RNG for `device`, as torch.manual_seed does (it also seeds every other backend, 1 ms a call)."""
    torch.default_generator.manual_seed(seed)
    if device.startswith("cuda"):
        torch.cuda.manual_seed(seed)


@dataclass(frozen=True)
class Check:
    claim: str
    func: object
    devices: tuple
    dtypes: tuple
    kind: str

    @property
    def module(self) -> str:
        return self.func.__module__.rsplit(".", 1)[-1]

    @property
    def path(self) -> Path:
        return Path(inspect.getsourcefile(self.func)).resolve()

    @property
    def test_id(self) -> str:
        return f"verify/{self.module}.py::{self.func.__name__}"


def check(claim, *, devices=("cpu", "cuda"), dtypes=("float64",), kind="exact"):
    """Mark the decorated function as a check of `claim`, for pytest to collect whatever its name."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    unknown = set(dtypes) - set(DTYPES)
    if unknown:
        raise ValueError(f"dtypes must be among {sorted(DTYPES)}, got {sorted(unknown)}")

    def register(func):
        func.__check__ = Check(claim, func, tuple(devices), tuple(dtypes), kind)
        func.__test__ = True  # pytest's own marker for a test whose name has no test_ prefix
        return func
    return register


@dataclass
class Trial:
    """What one run of a check may depend on: device, dtype and seed."""
    device: str
    dtype_name: str
    seed: int
    values: dict = field(default_factory=dict)

    def record(self, name: str, value):
        """Keep a number this check measured; a page shows it with [[value:<claim>.<name>]]. Returns it."""
        if not (isinstance(name, str) and name.isidentifier()):
            raise ValueError(f"value name must be an identifier such as 'steps', got {name!r}")
        number = value.item() if isinstance(value, (torch.Tensor, np.generic)) else value
        if isinstance(number, bool) or not isinstance(number, numbers.Real):
            raise TypeError(f"value {name!r} must be a real number, got {type(value).__name__}")
        # 10 significant digits: more than any page prints, and free of the last-bit noise that LAPACK's
        # alignment-dependent kernels put into float64 results, so serial and -n 2 reports agree
        self.values[name] = int(number) if isinstance(number, numbers.Integral) else float(f"{number:.10g}")
        return value

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.dtype_name]

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")

    def _seed(self, stream: int) -> int:
        return self.seed * 1_000_003 + stream

    def generator(self, stream: int = 0) -> torch.Generator:
        """A CPU generator; `stream` separates independent draws within one check."""
        return torch.Generator().manual_seed(self._seed(stream))

    def device_generator(self, stream: int = 0) -> torch.Generator:
        """A generator on the trial's device, for code that draws there (dropout masks, augmentation).

        Its streams start at 500, so on the CPU it never repeats the draws of `generator`.
        """
        return torch.Generator(device=self.device).manual_seed(self._seed(500 + stream))

    def rng(self, stream: int = 0) -> np.random.Generator:
        return np.random.default_rng([self.seed, stream])

    def randn(self, *shape, stream: int = 0) -> torch.Tensor:
        """Standard normal data drawn on the CPU in float64, then cast and moved."""
        x = torch.randn(*shape, generator=self.generator(stream), dtype=torch.float64)
        return self.put(x)

    def randn32(self, *shape, stream: int = 0) -> torch.Tensor:
        """Standard normal data drawn on the CPU in float32 (torch's float32 sampler is about four times faster
        than its float64 one), then cast and moved: for statistics whose tolerance lies far above the draws'
        rounding (6e-8 relative)."""
        return torch.randn(*shape, generator=self.generator(stream), dtype=torch.float32).to(self.device, self.dtype)

    def rand(self, *shape, stream: int = 0) -> torch.Tensor:
        x = torch.rand(*shape, generator=self.generator(stream), dtype=torch.float64)
        return self.put(x)

    def put(self, x) -> torch.Tensor:
        """Move a tensor (or nested list of numbers) to this trial's device and dtype."""
        return torch.as_tensor(x, dtype=torch.float64).to(self.device, self.dtype)

    def seed_modules(self, stream: int = 0) -> None:
        """Seed torch's global RNG before building nn modules (their default init draws from it)."""
        seed_global(self.device, self._seed(stream))

    def tol(self, *, f64: float, f32: float) -> float:
        """Pick the tolerance for this trial's dtype."""
        return f64 if self.dtype == torch.float64 else f32
