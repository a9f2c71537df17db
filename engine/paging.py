"""Page arithmetic shared by the paged reads (instances list, audit search, dashboard
matrix, sign-in and change logs): how many pages, and a requested page kept in range."""

from __future__ import annotations


def page_count(total: int, per_page: int) -> int:
    """How many pages ``total`` rows fill at ``per_page`` a page (at least 1)."""
    return max(1, -(-total // per_page))


def clamp_page(page: int, total: int, per_page: int) -> tuple[int, int]:
    """``(page, pages)``: the 1-based ``page`` kept between 1 and the last page."""
    pages = page_count(total, per_page)
    return min(max(page, 1), pages), pages


__all__ = ["clamp_page", "page_count"]
