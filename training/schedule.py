"""Learning-rate schedules, as functions of the optimizer step (so a resumed run needs no scheduler state)."""

import math


def warmup_linear_decay(step: int, max_steps: int, peak: float, warmup_fraction: float) -> float:
    """Pretraining (fairseq's polynomial decay, power 1): linear warm-up to ``peak``, then linear decay to 0."""
    warmup = max(1, int(warmup_fraction * max_steps))
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * max(0.0, (max_steps - step) / max(1, max_steps - warmup))


def tri_stage(step: int, max_steps: int, peak: float, fractions: tuple[float, float, float],
              final_scale: float, initial_scale: float = 0.01) -> float:
    """Fine-tuning (the paper's tri-stage): warm up from ``peak * initial_scale``, hold, decay exponentially."""
    warmup, hold = (int(f * max_steps) for f in fractions[:2])
    decay = max(1, max_steps - warmup - hold)
    if step < warmup:
        return peak * (initial_scale + (1 - initial_scale) * step / max(1, warmup))
    if step < warmup + hold:
        return peak
    progress = min(1.0, (step - warmup - hold) / decay)
    return peak * math.exp(math.log(final_scale) * progress)


def budget_step(step: int, max_steps: int, seconds: float, max_minutes: float) -> int:
    """Where a schedule over ``max_steps`` stands after ``step`` steps and ``seconds`` of a
    ``max_minutes`` budget (0: none): the step, or the same share of max_steps as the share of the
    budget spent when that is further along, so a run its budget cuts short still warms up,
    decays and ends at the schedule's end."""
    if max_minutes <= 0:
        return step
    spent = seconds / (60 * max_minutes)
    return max(step, min(max_steps, int(spent * max_steps)))


def budget_steps(step: int, max_steps: int, seconds: float, max_minutes: float) -> int:
    """The steps a run will take: ``max_steps``, or with a ``max_minutes`` budget (0: none) as many
    as fit in it at the pace of the ``step`` steps taken in ``seconds``, when that is fewer."""
    if max_minutes <= 0 or seconds <= 0:
        return max_steps
    return max(step, min(max_steps, round(step / seconds * 60 * max_minutes)))
