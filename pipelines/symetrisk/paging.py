"""limit/skip paging with `metadata.totalItems`, as dlt's OffsetPaginator does it, extended
where a live list needs more care:

- the next `skip` grows by the items actually returned (a server that clamps `limit` below what
  was asked loses nothing);
- when the total shrinks between pages, items slid into pages already read, so the page is
  read again from `skip` minus the shrink (the overlap comes back as duplicates, which callers
  drop by key);
- a total that grows is followed to its new end; an empty page ends paging;
- a page budget ends any endless loop a misbehaving server could cause.
"""

from __future__ import annotations

from dlt.sources.helpers.rest_client.paginators import OffsetPaginator


class SkipPaginator(OffsetPaginator):
    def __init__(self, limit: int, max_pages: int | None = None) -> None:
        super().__init__(
            limit=limit,
            offset=0,
            offset_param="skip",
            limit_param="limit",
            total_path=None,  # Api.pages passes the total it read from the parsed body
            stop_after_empty_page=True,
        )
        self.pages_read = 0
        self.last_total: int | None = None
        self.max_pages = max_pages

    def advance(self, returned: int, total: int | None) -> None:
        """Move past one page of `returned` items of a list that now holds `total` items."""
        self.pages_read += 1
        if self.max_pages is None:
            # first page: room for the whole list three times over, plus slack for growth
            expected = (total if total is not None else 0) // max(1, self.limit) + 1
            self.max_pages = 3 * expected + 10
        start = self.current_value
        shrunk = 0
        if total is not None and self.last_total is not None and total < self.last_total:
            shrunk = self.last_total - total
        if total is not None:
            self.last_total = total
        if shrunk:
            # items were removed before this page was read: re-read from where they slid to
            self.current_value = max(0, start - shrunk)
        else:
            self.current_value = start + returned
        done = returned == 0 or (total is not None and self.current_value >= total)
        if done or self.pages_read >= self.max_pages:
            self._has_next_page = False
