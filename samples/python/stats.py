"""Small descriptive statistics helpers (self-written sample, MIT licence)."""


def mean(values):
    total = sum(values)
    return total / len(values)


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2 == 1:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def variance(values, sample=False):
    m = mean(values)
    squares = [(value - m) ** 2 for value in values]
    divisor = len(values) - 1 if sample else len(values)
    return sum(squares) / divisor


def stdev(values, sample=False):
    return variance(values, sample) ** 0.5


def mode(values):
    counts = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    best = max(counts.values())
    return [value for value, count in counts.items() if count == best]


def percentile(values, fraction):
    """The value below which `fraction` of the sorted values fall (linear interpolation)."""
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be between 0 and 1")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    weight = position - lower
    return ordered[lower] * (1 - weight) + ordered[upper] * weight


def summary(values):
    return {
        "count": len(values),
        "mean": mean(values),
        "median": median(values),
        "stdev": stdev(values),
        "min": min(values),
        "max": max(values),
    }
