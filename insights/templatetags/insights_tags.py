from typing import Any

from django import template

from insights.tables import Table, cells

register = template.Library()


@register.filter
def table_cells(table: Table) -> Any:
    """Formatted rows of a table: [(text, kind), …] per row."""
    return list(cells(table))
