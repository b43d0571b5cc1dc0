"""``plantsync work-orders list|show``."""

from __future__ import annotations

import uuid

import typer

from plantsync.cli.common import TenantOption, database, print_json, print_table
from plantsync.core.models.maintenance import WorkOrderKind, WorkOrderStatus
from plantsync.core.services import work_order_costs, work_orders
from plantsync.core.services.tenants import resolve_tenant
from plantsync.errors import NotFoundError
from plantsync.money import format_minor

work_orders_app = typer.Typer(help="Work orders: list, show.", no_args_is_help=True)
JsonOption = typer.Option(False, "--json", help="Print JSON.")


@work_orders_app.command("list")
def list_(
    tenant: str | None = TenantOption,
    status: WorkOrderStatus | None = typer.Option(None, "--status"),
    kind: WorkOrderKind | None = typer.Option(None, "--kind"),
    search: str | None = typer.Option(None, "--search", "-q"),
    limit: int = typer.Option(500, "--limit", min=1, max=500),
    json_out: bool = JsonOption,
) -> None:
    """List work orders by number."""
    with database().read_session() as session:
        target = resolve_tenant(session=session, tenant=tenant)
        page = work_orders.list_work_orders(
            session=session, tenant_id=target.id, status=status, kind=kind, q=search, limit=limit
        )
    if json_out:
        print_json(page)
        return
    print_table(
        ["number", "kind", "status", "priority", "planned", "good", "scrap", "cost", "id"],
        [
            (w.number, w.kind.value, w.status.value, w.priority, w.quantity_planned, w.quantity_good,
             w.quantity_scrap, format_minor(w.total_cost_minor, w.currency), w.id)
            for w in page.items
        ],
    )  # fmt: skip


@work_orders_app.command("show")
def show(
    work_order: str = typer.Argument(..., help="Work order id or number."),
    tenant: str | None = TenantOption,
    json_out: bool = JsonOption,
) -> None:
    """Show one work order with its labor."""
    with database().read_session() as session:
        target = resolve_tenant(session=session, tenant=tenant)
        try:
            wo = work_orders.get_work_order(
                session=session, tenant_id=target.id, work_order_id=uuid.UUID(work_order)
            )
        except ValueError:
            found = work_orders.find_work_order(
                session=session, tenant_id=target.id, number=work_order
            )
            if found is None:
                raise NotFoundError("work order", work_order) from None
            wo = found
        public = work_orders.to_public(wo)
        labor = work_order_costs.list_labor(
            session=session, tenant_id=target.id, work_order_id=wo.id
        )
    if json_out:
        print_json(
            {
                **public.model_dump(mode="json"),
                "labor": [entry.model_dump(mode="json") for entry in labor],
            }
        )
        return
    print_table(["field", "value"], list(public.model_dump().items()))
    if labor:
        print_table(
            ["worker", "hours", "rate", "cost", "when"],
            [(x.worker, x.hours, format_minor(x.rate_minor, x.currency), format_minor(x.cost_minor, x.currency), x.performed_at) for x in labor],
            title="Labor",
        )  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(work_orders_app, name="work-orders")
