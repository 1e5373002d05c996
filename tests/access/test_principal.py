"""A partner's principal carries its grants in force, read with its token, whichever way it came."""

from __future__ import annotations

from datetime import timedelta

from hub.access.principal import Principal
from hub.access.sharing import with_grants
from hub.auth.bearer import principal_from_bearer
from hub.models import utcnow
from hub.models.enums import ClientKind
from tests.access.conftest import READ_ALL, Sharing, shareable_customers


async def test_grants_in_force_come_with_the_token_narrowed_to_its_scopes(
    sharing: Sharing, sync_engine, app
):
    customers = shareable_customers(sync_engine)[:2]
    partner = sharing.partner()
    listed = sharing.grant(partner, READ_ALL + " customers:write", customers=customers)
    segment = sharing.grant(partner, "customers:read orders:read", segment="tag=vip,country=de")
    revoked = sharing.grant(partner, customers=customers)
    sharing.revoke(revoked)
    sharing.grant(partner, customers=customers, expires_at=utcnow() - timedelta(minutes=1))
    later = sharing.grant(partner, customers=customers, expires_at=utcnow() + timedelta(days=1))
    token = sharing.mint_token(
        "customers:read orders:read partners:admin", kind=ClientKind.PARTNER, partner_id=partner
    )
    try:
        async with app.state.engine.connect() as conn:
            principal = await principal_from_bearer(conn, f"Bearer {token}")
            bare = Principal(
                principal.client_id,
                ClientKind.PARTNER,
                frozenset({"customers:read", "orders:read", "partners:admin"}),
                partner,
            )
            again = await with_grants(conn, bare)
        assert principal.scopes == {"customers:read", "orders:read"}  # never partners:admin
        grants = {g.id: g for g in principal.grants}
        assert set(grants) == {listed, segment, later}
        assert grants[listed].scopes == {"customers:read", "orders:read"}
        assert grants[listed].segment is None
        assert grants[segment].segment == '{"all":[{"tag":"vip"},{"eq":"DE","field":"country"}]}'
        assert again.grants == principal.grants and again.scopes == principal.scopes
    finally:
        sharing.drop_partners([partner])


async def test_an_internal_principal_has_no_grants(app, mint_token):
    token = mint_token("customers:read partners:admin")
    async with app.state.engine.connect() as conn:
        principal = await principal_from_bearer(conn, f"Bearer {token}")
    assert principal.grants == () and "partners:admin" in principal.scopes
