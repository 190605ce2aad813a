"""Aliases over a stored graph (graph/aliases.py, graph/realias.py): resolution, and
plans that merge and unmerge, held to their properties on random graphs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from slo_engine.catalog.alias_rules import AliasRule
from slo_engine.graph.aliases import AliasTable, ExactAlias
from slo_engine.graph.model import DependencyReport, DiscoverySource, Service
from slo_engine.graph.realias import (
    RealiasPlan,
    ShadowedReport,
    ShadowedService,
    plan_realias,
    reported_ends,
)
from slo_engine.graph.snapshot import GraphSnapshot, report_key, reports_of

AT = datetime(2026, 12, 1, tzinfo=UTC)
CANONICAL = ("cart", "checkout", "payment", "email")
# Names sources give the canonical services.
OTHER_NAMES = ("cartservice", "checkoutservice", "checkout.shop", "pay")
SOURCES = (
    DiscoverySource.MANUAL,
    DiscoverySource.JAEGER,
    DiscoverySource.OTEL_SERVICE_GRAPH,
    DiscoverySource.SERVICE_MESH,
)


class Store:
    """A stored graph and what plans set aside, applied as the database would."""

    def __init__(self, services: list[Service], reports: list[DependencyReport]) -> None:
        self.snapshot = GraphSnapshot.build(1, services, reports)
        self.report_shadows: list[ShadowedReport] = []
        self.service_shadows: list[ShadowedService] = []
        self.table = AliasTable()
        self._next_id = 0

    def _id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def realias(self, table: AliasTable) -> RealiasPlan:
        plan = plan_realias(
            self.snapshot,
            table,
            self.table,
            self.report_shadows,
            self.service_shadows,
            AT + timedelta(1),
        )
        self.table = table
        revision = self.snapshot.revision + 1
        self.snapshot.apply(
            revision,
            plan.services_written,
            plan.reports_written,
            plan.keys_cleared,
            [s.service_id for s in plan.services_deleted],
        )
        self.snapshot.revision = revision
        restored = {
            *plan.report_shadows_restored,
            *plan.service_shadows_restored,
            *plan.report_shadows_forgotten,
            *plan.service_shadows_forgotten,
        }
        self.report_shadows = [
            *(s for s in self.report_shadows if s.shadow_id not in restored),
            *(ShadowedReport(self._id(), r) for r in plan.reports_set_aside),
        ]
        self.service_shadows = [
            *(s for s in self.service_shadows if s.shadow_id not in restored),
            *(ShadowedService(self._id(), s, copy) for s, copy in plan.services_set_aside),
        ]
        return plan

    def reports(self) -> dict[tuple[str, str, str], DependencyReport]:
        return {report_key(r): r for pair in self.snapshot.pairs.values() for r in reports_of(pair)}

    def services(self) -> dict[str, dict[str, Any]]:
        fields = ("display_name", "team", "criticality", "discovered", "kind")
        return {
            service_id: {name: getattr(s, name) for name in fields}
            for service_id, s in self.snapshot.services.items()
        }


@st.composite
def stored_graphs(draw: st.DrawFn) -> Store:
    names = CANONICAL + OTHER_NAMES
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(names), st.sampled_from(names), st.sampled_from(SOURCES)),
            max_size=14,
            unique=True,
        )
    )
    reports = [
        DependencyReport(
            source,
            target,
            discovery_source,
            AT - timedelta(minutes=draw(st.integers(0, 3))),
            request_rate=float(draw(st.integers(0, 9))),
            is_stale=draw(st.booleans()),
        )
        for source, target, discovery_source in pairs
    ]
    named = {n for r in reports for n in (r.source, r.target)}
    declared = draw(st.sets(st.sampled_from(names), max_size=3))
    services = [
        Service(name, team=f"team-{name}", discovered=False, created_at=AT, updated_at=AT)
        if name in declared
        else Service(name, discovered=True, created_at=AT, updated_at=AT)
        for name in sorted(named | declared)
    ]
    return Store(services, reports)


@st.composite
def alias_tables(draw: st.DrawFn) -> AliasTable:
    """Exact aliases from the other names to canonical ids (never chained), some for one
    source only."""
    chosen = draw(st.sets(st.sampled_from(OTHER_NAMES), min_size=1))
    return AliasTable(
        ExactAlias(
            name,
            draw(st.sampled_from(CANONICAL)),
            draw(st.one_of(st.none(), st.sampled_from(SOURCES))),
        )
        for name in sorted(chosen)
    )


@settings(max_examples=300, deadline=None)
@given(stored_graphs(), alias_tables())
def test_deleting_the_aliases_gives_back_the_graph_as_stored(
    store: Store, table: AliasTable
) -> None:
    reports_before, services_before = store.reports(), store.services()
    store.realias(table)
    store.realias(AliasTable())
    assert store.reports() == reports_before
    assert store.services() == services_before
    assert store.report_shadows == []


@settings(max_examples=300, deadline=None)
@given(stored_graphs(), alias_tables())
def test_a_merged_graph_shows_one_id_per_thing_and_loses_no_report(
    store: Store, table: AliasTable
) -> None:
    before = store.reports()
    plan = store.realias(table)
    after = store.reports()
    ends = {name for r in after.values() for name in (r.source, r.target)}
    for report in after.values():
        source_name, target_name = reported_ends(report)
        # Each report sits at the pair its source's names resolve to.
        assert report.source == table.resolve(source_name, report.discovery_source)
        assert report.target == table.resolve(target_name, report.discovery_source)
        # No call between two names of one service became a self-call.
        assert report.source != report.target or source_name == target_name
    # A name every source's alias maps elsewhere is never a node (nor an edge's end).
    for name in OTHER_NAMES:
        if table.merges_service(name) is not None:
            assert name not in store.snapshot.services and name not in ends
    # Every edge's end is a service.
    assert ends <= store.snapshot.services.keys()
    # Nothing is lost: every report is in the graph or set aside.
    kept = {(r.discovery_source, reported_ends(r)) for r in after.values()}
    aside = {(r.discovery_source, reported_ends(r)) for r in plan.reports_set_aside}
    assert {(r.discovery_source, reported_ends(r)) for r in before.values()} <= kept | aside


@settings(max_examples=200, deadline=None)
@given(stored_graphs(), alias_tables())
def test_a_plan_under_the_table_in_force_changes_nothing(store: Store, table: AliasTable) -> None:
    store.realias(table)
    assert not store.realias(table)


def test_of_two_reports_of_one_source_the_last_observed_stays_and_the_other_waits() -> None:
    early = DependencyReport("cart", "redis", DiscoverySource.JAEGER, AT, request_rate=1.0)
    late = DependencyReport(
        "cartservice", "redis", DiscoverySource.JAEGER, AT + timedelta(1), request_rate=9.0
    )
    store = Store(
        [Service(n, discovered=True) for n in ("cart", "cartservice", "redis")], [early, late]
    )
    plan = store.realias(AliasTable([ExactAlias("cartservice", "cart")]))
    assert plan.reports_set_aside == [early]
    (kept,) = store.reports().values()
    assert (kept.source, kept.source_reported_as, kept.request_rate) == ("cart", "cartservice", 9.0)
    assert "cartservice" not in store.snapshot.services
    plan = store.realias(AliasTable())
    assert len(plan.report_shadows_restored) == 1
    assert set(store.reports()) == {
        ("cart", "redis", "jaeger"),
        ("cartservice", "redis", "jaeger"),
    }


def test_a_declared_service_merged_into_a_new_id_is_copied_there_and_back() -> None:
    declared = Service("checkoutservice", team="shop", discovered=False, created_at=AT)
    store = Store([declared], [])
    plan = store.realias(AliasTable([ExactAlias("checkoutservice", "checkout")]))
    assert [s.service_id for s in plan.services_written] == ["checkout"]
    assert store.snapshot.services["checkout"].team == "shop"
    store.realias(AliasTable())
    assert store.snapshot.services.keys() == {"checkoutservice"}


def test_a_rule_renames_the_names_it_matches_whole() -> None:
    rule = AliasRule(r"(?P<app>[a-z]+)\.shop", r"\g<app>", DiscoverySource.SERVICE_MESH)
    table = AliasTable([], [rule])
    assert table.resolve("checkout.shop", DiscoverySource.SERVICE_MESH) == "checkout"
    assert table.resolve("checkout.shop.eu", DiscoverySource.SERVICE_MESH) == "checkout.shop.eu"
    assert table.resolve("checkout.shop", DiscoverySource.JAEGER) == "checkout.shop"
    # An expansion that is no service id keeps the name as reported.
    bad = AliasTable([], [AliasRule(r"(.*)", r"-\1")])
    assert bad.resolve("cart", None) == "cart"


def test_exact_aliases_win_over_rules_and_a_source_s_own_over_every_source_s() -> None:
    table = AliasTable(
        [
            ExactAlias("pay", "payment"),
            ExactAlias("pay", "billing", DiscoverySource.JAEGER),
        ],
        [AliasRule(r"pa(.)", r"p\1")],
    )
    assert table.resolve("pay", DiscoverySource.JAEGER) == "billing"
    assert table.resolve("pay", DiscoverySource.MANUAL) == "payment"
    assert table.resolve("pat", DiscoverySource.MANUAL) == "pt"
    # A service is merged only by what applies to every source.
    assert table.merges_service("pay") == "payment"
    assert (
        AliasTable([ExactAlias("pay", "billing", DiscoverySource.JAEGER)]).merges_service("pay")
        is None
    )


def test_an_empty_table_keeps_every_name() -> None:
    assert AliasTable().resolve("anything", DiscoverySource.MANUAL) == "anything"
    assert not AliasTable()


def test_a_rule_whose_output_is_no_service_id_keeps_the_name() -> None:
    # A trailing newline is no part of an id, although `$` would match before it.
    table = AliasTable([], [AliasRule(r"(.+)x", "\\1\n")])
    assert table.resolve("cartx", None) == "cartx"


def test_a_rule_s_output_goes_through_the_exact_aliases_once() -> None:
    table = AliasTable(
        [ExactAlias("checkoutservice", "checkout")], [AliasRule(r"(.+)\.shop", r"\1")]
    )
    assert table.resolve("checkoutservice.shop", DiscoverySource.SERVICE_MESH) == "checkout"
