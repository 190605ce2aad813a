from hypothesis import given
from hypothesis import strategies as st

from slo_engine.access.keys import (
    KEY_PREFIX,
    Scope,
    digest,
    generate_key,
    grants,
    parse_key,
    secret_matches,
)


def test_a_generated_key_parses_back_and_its_secret_matches_only_its_digest() -> None:
    key = generate_key()
    parsed = parse_key(key.plaintext)

    assert key.plaintext.startswith(KEY_PREFIX)
    assert parsed is not None
    assert parsed.key_id == key.key_id
    assert secret_matches(parsed.secret, key.secret_digest)
    assert not secret_matches(parsed.secret + "x", key.secret_digest)
    # What is stored reveals nothing of the plaintext.
    assert parsed.secret not in key.secret_digest
    assert key.secret_digest == digest(parsed.secret)


def test_keys_are_unique_and_carry_at_least_128_random_bits() -> None:
    keys = [generate_key() for _ in range(1000)]
    assert len({k.plaintext for k in keys}) == 1000
    assert len({k.key_id for k in keys}) == 1000
    secret = parse_key(keys[0].plaintext)
    assert secret is not None
    assert len(secret.secret) * 6 >= 256  # base64: 6 bits per character


@given(st.text(max_size=80))
def test_arbitrary_text_is_never_mistaken_for_a_key(text: str) -> None:
    parsed = parse_key(text)
    if parsed is not None:
        assert text == f"{KEY_PREFIX}{parsed.key_id}_{parsed.secret}"


def test_malformed_keys_are_refused() -> None:
    good = generate_key().plaintext
    for bad in (good[4:], good + "x", good[:-1], "slo_" + "g" * 12 + good[16:], good.upper()):
        assert parse_key(bad) is None


def test_admin_grants_every_scope_and_others_only_themselves() -> None:
    assert all(grants(frozenset({Scope.ADMIN}), s) for s in Scope)
    assert grants(frozenset({Scope.READ}), Scope.READ)
    assert not grants(frozenset({Scope.READ}), Scope.WRITE)
    assert not grants(frozenset({Scope.WRITE}), Scope.READ)
    assert not grants(frozenset(), Scope.READ)
