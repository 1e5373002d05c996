"""Filters of connections, their sync runs and dead letters, as SQL conditions."""

from __future__ import annotations

from typing import Any

import graphene
from sqlalchemy import ColumnElement

from hub.api.connections.dataloaders import connections, dead_letters, sync_runs
from hub.api.connections.enums import ConnectionStatusEnum, SyncRunStatusEnum
from hub.api.core.enums import value_of
from hub.api.core.scalars import DateTime


class ConnectionFilter(graphene.InputObjectType):
    """All given conditions must hold."""

    connector = graphene.String(description="shopify, mailchimp, facebook, ...")
    statuses = graphene.List(graphene.NonNull(ConnectionStatusEnum))


def connection_filters(filter: dict[str, Any] | None) -> list[ColumnElement[bool]]:
    f = filter or {}
    clauses: list[ColumnElement[bool]] = []
    if f.get("connector"):
        clauses.append(connections.c.connector == f["connector"])
    if f.get("statuses"):
        clauses.append(connections.c.status.in_([value_of(s) for s in f["statuses"]]))
    return clauses


class SyncRunFilter(graphene.InputObjectType):
    statuses = graphene.List(graphene.NonNull(SyncRunStatusEnum))
    stream = graphene.String()
    started_after = DateTime()
    started_before = DateTime()


def sync_run_filters(key: tuple[tuple[str, Any], ...]) -> list[ColumnElement[bool]]:
    f = dict(key)
    clauses: list[ColumnElement[bool]] = []
    if f.get("statuses"):
        clauses.append(sync_runs.c.status.in_([value_of(s) for s in f["statuses"]]))
    if f.get("stream"):
        clauses.append(sync_runs.c.stream == f["stream"])
    if f.get("started_after") is not None:
        clauses.append(sync_runs.c.started_at > f["started_after"])
    if f.get("started_before") is not None:
        clauses.append(sync_runs.c.started_at < f["started_before"])
    return clauses


class DeadLetterFilter(graphene.InputObjectType):
    stream = graphene.String()
    resolved = graphene.Boolean(description="true: only resolved ones; false: only open ones.")


def dead_letter_filters(key: tuple[tuple[str, Any], ...]) -> list[ColumnElement[bool]]:
    f = dict(key)
    clauses: list[ColumnElement[bool]] = []
    if f.get("stream"):
        clauses.append(dead_letters.c.stream == f["stream"])
    if f.get("resolved") is not None:
        resolved_at = dead_letters.c.resolved_at
        clauses.append(resolved_at.is_not(None) if f["resolved"] else resolved_at.is_(None))
    return clauses
