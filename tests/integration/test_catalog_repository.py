"""CatalogRepository against real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from slo_engine.catalog.repository import CatalogRepository, ServiceFilter, ServiceUpsert
from slo_engine.catalog.tables import service_dependencies
from slo_engine.graph.model import DependencyReport, DiscoverySource, ServiceCriticality
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
        await repository.ensure_services(["api"], T0)
        await repository.upsert_declared_services(
            [ServiceUpsert("api", "API", "core", ServiceCriticality.HIGH, {"tier": 1})], T0
        )
        await repository.upsert_declared_services(
            [ServiceUpsert("api", None, "platform", None, None)], T0
        )
    async with database.session_scope() as session:
        service = await CatalogRepository(session).get_service("api")
    assert service is not None
    assert service.display_name == "API"
    assert service.team == "platform"
    assert service.criticality is ServiceCriticality.HIGH
    assert service.metadata == {"tier": 1}
    assert service.discovered is False
    assert service.created_at is not None and service.created_at.tzinfo is not None


async def test_ensure_services_creates_only_missing_ones(database: Database) -> None:
    async with database.session_scope() as session:
        repository = CatalogRepository(session)
        await repository.upsert_declared_services(
            [ServiceUpsert("known", None, "t", None, None)], T0
        )
        ids, created = await repository.ensure_services(["known", "new"], T0)
    assert set(ids) == {"known", "new"}
    assert [s.service_id for s in created] == ["new"]
    assert created[0].discovered is True
    async with database.session_scope() as session:
        listed = await CatalogRepository(session).list_services(ServiceFilter(), None, 10)
    assert [(s.service_id, s.discovered) for s in listed] == [("known", False), ("new", True)]


async def test_report_upsert_keeps_latest_observation_and_clears_staleness(
    database: Database,
) -> None:
    async with database.session_scope() as session:
        repository = CatalogRepository(session)
        ids, _ = await repository.ensure_services(["a", "b"], T0)
        await repository.upsert_reports([_report("a", "b", T0, request_rate=1.0)], ids, T0)
        await session.execute(update(service_dependencies).values(is_stale=True))
    async with database.session_scope() as session:
        repository = CatalogRepository(session)
        ids, _ = await repository.ensure_services(["a", "b"], T0)
        earlier = T0 - timedelta(days=1)
        (stored,) = await repository.upsert_reports(
            [_report("a", "b", earlier, request_rate=2.0)], ids, T0
        )
    assert stored.request_rate == 2.0
    assert stored.last_observed_at == T0
    assert stored.is_stale is False
    async with database.session_scope() as session:
        first_seen = (
            await session.execute(select(service_dependencies.c.first_observed_at))
        ).scalar_one()
    assert first_seen == T0


async def test_bulk_upsert_of_thousands_of_rows_round_trips(database: Database) -> None:
    names = [f"s{i:05d}" for i in range(2500)]
    reports = [_report(names[i], names[(i * 7 + 1) % 2500], T0) for i in range(2500)]
    reports += [_report(names[i], names[(i * 11 + 3) % 2500], T0) for i in range(2500)]
    async with database.session_scope() as session:
        repository = CatalogRepository(session)
        ids, created = await repository.ensure_services(names, T0)
        stored = await repository.upsert_reports(reports, ids, T0)
    assert len(created) == 2500
    assert len(stored) == len({(r.source, r.target) for r in reports})
    async with database.session_scope() as session:
        services, loaded = await CatalogRepository(session).load_graph()
    assert len(services) == 2500
    assert {(r.source, r.target) for r in loaded} == {(r.source, r.target) for r in reports}
