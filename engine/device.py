"""Compute devices: CUDA when present, the CPU otherwise."""

import os

import torch

from .errors import VivavoceError

CHOICES = ("auto", "cpu", "cuda")


def resolve_device(choice: str = "auto") -> torch.device:
    """The torch device for a ``--device`` setting; "auto" takes the first CUDA GPU if there is one."""
    if choice not in CHOICES:
        raise VivavoceError(f"--device {choice}: choose one of {', '.join(CHOICES)}")
    if choice == "cpu" or (choice == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise VivavoceError("--device cuda: no CUDA GPU is available on this computer (use --device cpu)")
    return torch.device("cuda", torch.cuda.current_device())


def inference_dtype(device: torch.device) -> torch.dtype:
    """Half precision on GPUs, single precision on the CPU."""
    return torch.float16 if device.type == "cuda" else torch.float32


def compute_devices() -> list[dict]:
    """What this computer offers for recognition: each CUDA GPU, then the CPU."""
    devices = []
    for index in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
        props = torch.cuda.get_device_properties(index)
        devices.append({"device": f"cuda:{index}", "name": props.name,
                        "memory_gib": round(props.total_memory / 2**30, 1), "precision": "float16"})
    devices.append({"device": "cpu", "name": _cpu_name(), "threads": torch.get_num_threads(),
                    "cores": os.cpu_count(), "precision": "float32"})
    return devices


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()
