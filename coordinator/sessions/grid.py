"""Sets of slot starts on a search's grid, as sorted lists of disjoint ranges of grid indices."""

from __future__ import annotations

Range = tuple[int, int]  # grid indices of slot starts, both ends included


def ranges_meet(first: list[Range], second: list[Range]) -> list[Range]:
    """The grid indices in both sorted lists of disjoint ranges."""
    result, i, j = [], 0, 0
    while i < len(first) and j < len(second):
        low, high = max(first[i][0], second[j][0]), min(first[i][1], second[j][1])
        if low <= high:
            result.append((low, high))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return result


def ranges_join(ranges: list[Range]) -> list[Range]:
    """Sorted, with overlapping or adjacent ranges joined."""
    joined: list[list[int]] = []
    for low, high in sorted(ranges):
        if joined and low <= joined[-1][1] + 1:
            joined[-1][1] = max(joined[-1][1], high)
        else:
            joined.append([low, high])
    return [(low, high) for low, high in joined]


def ranges_minus(first: list[Range], second: list[Range]) -> list[Range]:
    """The grid indices of the first sorted list of disjoint ranges that are in none of the second."""
    result, j = [], 0
    for low, high in first:
        cursor = low
        while j < len(second) and second[j][1] < cursor:
            j += 1
        scan = j
        while scan < len(second) and second[scan][0] <= high and cursor <= high:
            if second[scan][0] > cursor:
                result.append((cursor, second[scan][0] - 1))
            cursor = max(cursor, second[scan][1] + 1)
            scan += 1
        if cursor <= high:
            result.append((cursor, high))
    return result
