"""CatalogRepository against real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from slo_engine.catalog.repository import CatalogRepository, ServiceFilter
from slo_engine.catalog.tables import service_dependencies
from slo_engine.graph.model import (
    DependencyReport,
    DiscoverySource,
    ServiceCriticality,
    ServiceDeclaration,
)
from slo_engine.infra.db import Database

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _report(source: str, target: str, at: datetime, **fields: object) -> DependencyReport:
    return DependencyReport(
        source=source,
        target=target,
        discovery_source=DiscoverySource.OTEL_SERVICE_GRAPH,
        last_observed_at=at,
        **fields,  # type: ignore[arg-type]
    )


async def test_revision_counts_writes(database: Database) -> None:
    async with database.session_scope() as session:
        repository = CatalogRepository(session)
        assert await repository.current_revision() == 0
        assert await repository.bump_revision() == 1
        assert await repository.bump_revision() == 2
    async with database.session_scope() as session:
        assert await CatalogRepository(session).current_revision() == 2


async def test_declared_services_keep_what_a_later_entry_omits(database: Database) -> None:
    async with database.session_scope() as session:
        repository = CatalogRepository(session)
        await repository.bump_revision()  # a graph write bumps the revision first
        await repository.insert_missing_services(["api"], T0)
        await repository.upsert_declared_services(
            [ServiceDeclaration("api", "API", "core", ServiceCriticality.HIGH, {"tier": 1})], T0
        )
        await repository.upsert_declared_services(
            [ServiceDeclaration("api", None, "platform", None, None)], T0
        )
    async with database.session_scope() as session:
        # (One service is read from the live graph, which loads it this way.)
        stored, _ = await CatalogRepository(session).load_graph()
    (service,) = [s for s in stored if s.service_id == "api"]
    assert service.display_name == "API"
    assert service.team == "platform"
    assert service.criticality is ServiceCriticality.HIGH
    assert service.metadata == {"tier": 1}
    assert service.discovered is False
    assert service.created_at == T0


async def test_insert_missing_services_leaves_existing_ones(database: Database) -> None:
    async with database.session_scope() as session:
        repository = CatalogRepository(session)
        await repository.bump_revision()  # a graph write bumps the revision first
        await repository.upsert_declared_services([ServiceDeclaration("known", team="t")], T0)
        await repository.insert_missing_services(["known", "new"], T0)
    async with database.session_scope() as session:
        listed = await CatalogRepository(session).list_services(ServiceFilter(), None, 10)
    assert [(s.service_id, s.discovered, s.team) for s in listed] == [
        ("known", False, "t"),
        ("new", True, None),
    ]


async def test_report_upsert_keeps_latest_observation_and_clears_staleness(
    database: Database,
) -> None:
    async with database.session_scope() as session:
        repository = CatalogRepository(session)
        await repository.bump_revision()  # a graph write bumps the revision first
        await repository.insert_missing_services(["a", "b"], T0)
        await repository.upsert_reports([_report("a", "b", T0, request_rate=1.0)], T0)
        await session.execute(update(service_dependencies).values(is_stale=True))
    async with database.session_scope() as session:
        earlier = T0 - timedelta(days=1)
        repository = CatalogRepository(session)
        await repository.bump_revision()
        await repository.upsert_reports(
            [_report("a", "b", earlier, request_rate=2.0, retry_config={"max": 3})], T0
        )
    async with database.session_scope() as session:
        _, (stored,) = await CatalogRepository(session).load_graph()
        first_seen = (
            await session.execute(select(service_dependencies.c.first_observed_at))
        ).scalar_one()
    assert stored.request_rate == 2.0
    assert stored.retry_config == {"max": 3}
    assert stored.last_observed_at == T0
    assert stored.is_stale is False
    assert first_seen == T0


async def test_bulk_upsert_of_thousands_of_rows_round_trips(database: Database) -> None:
    names = [f"s{i:05d}" for i in range(2500)]
    reports = [_report(names[i], names[(i * 7 + 1) % 2500], T0) for i in range(2500)]
    reports += [_report(names[i], names[(i * 11 + 3) % 2500], T0) for i in range(2500)]
    unique = list({(r.source, r.target): r for r in reports}.values())
    async with database.session_scope() as session:
        repository = CatalogRepository(session)
        await repository.bump_revision()  # a graph write bumps the revision first
        await repository.insert_missing_services(names, T0)
        await repository.upsert_reports(unique, T0)
    async with database.session_scope() as session:
        services, loaded = await CatalogRepository(session).load_graph()
    assert len(services) == 2500
    assert all(s.discovered for s in services)
    assert {(r.source, r.target) for r in loaded} == {(r.source, r.target) for r in reports}


async def test_bulk_writes_are_inside_the_callers_transaction(database: Database) -> None:
    """Bulk writes use the driver directly; a rollback must still undo them."""

    class AbortError(Exception):
        pass

    try:
        async with database.session_scope() as session:
            repository = CatalogRepository(session)
            await repository.bump_revision()  # a graph write bumps the revision first
            await repository.insert_missing_services(["a", "b"], T0)
            await repository.upsert_reports([_report("a", "b", T0)], T0)
            raise AbortError
    except AbortError:
        pass
    async with database.session_scope() as session:
        services, reports = await CatalogRepository(session).load_graph()
    assert (services, reports) == ([], [])
