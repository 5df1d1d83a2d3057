"""Groups of similar values: sorted, a new group wherever a value exceeds 1.5x the one before it. Tells a speculative
round's draft passes, verifications and plain steps apart by their times (kernel_times.py, profile_summary.py)."""


def gap_groups(items, value, gap=1.5, least=3):
    """The groups, in ascending order of `value`, of `items` sorted by it; groups of fewer than `least` items left out."""
    items = sorted(items, key=value)
    groups, start = [], 0
    for i in range(1, len(items) + 1):
        if i == len(items) or value(items[i]) > gap * max(value(items[i - 1]), 1e-9):
            if i - start >= least:
                groups.append(items[start:i])
            start = i
    return groups
