"""Ed25519 against RFC 8032 section 7.1, and seeded key derivation."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.identity import Identity, Member, Registry, Role, verify_signature

# RFC 8032, section 7.1, TEST 1, TEST 2 and TEST 3: (secret key, public key, message, signature).
RFC8032_VECTORS = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
     "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
     "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
     "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
]


@pytest.mark.parametrize("secret,public,message,signature", RFC8032_VECTORS)
def test_rfc8032_known_answers(secret, public, message, signature):
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret))
    assert key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex() == public
    assert key.sign(bytes.fromhex(message)).hex() == signature
    assert verify_signature(bytes.fromhex(public), bytes.fromhex(signature), bytes.fromhex(message))


@pytest.mark.parametrize("secret,public,message,signature", RFC8032_VECTORS)
def test_rfc8032_signature_fails_on_any_change(secret, public, message, signature):
    sig, msg = bytearray.fromhex(signature), bytes.fromhex(message)
    for i in (0, 31, 32, 63):
        bad = bytearray(sig)
        bad[i] ^= 0x01
        assert not verify_signature(bytes.fromhex(public), bytes(bad), msg)
    assert not verify_signature(bytes.fromhex(public), bytes(sig), msg + b"\x00")


def test_keys_derive_from_seed_deterministically_and_distinctly():
    a = Identity.derive(42, "dno1", Role.DNO)
    assert a.public_key == Identity.derive(42, "dno1", "dno").public_key
    others = {Identity.derive(43, "dno1", Role.DNO).public_key, Identity.derive(42, "dno2", Role.DNO).public_key,
              Identity.derive(42, "dno1", Role.VALIDATOR).public_key}
    assert a.public_key not in others and len(others) == 3
    assert verify_signature(a.public_key, a.sign(b"bid"), b"bid")


def test_registry_maps_key_to_organisation_and_role():
    ids = [Identity.derive(1, "dno1", Role.DNO), Identity.derive(1, "dno1", Role.VALIDATOR),
           Identity.derive(1, "grid", Role.MAIN_GRID), Identity.derive(1, "owner", Role.STORAGE_OWNER)]
    reg = Registry.of(ids)
    assert reg.lookup(ids[1].public_hex) == Member("dno1", Role.VALIDATOR, ids[1].public_hex)
    assert reg.lookup("00" * 32) is None
    assert Registry.from_doc(reg.to_doc()).members() == reg.members()
    with pytest.raises(ValueError):
        reg.add(Member("other", Role.DNO, ids[0].public_hex))


def test_signature_cache_never_accepts_a_changed_byte():
    """A cached success is keyed by the exact key, signature and message: any flip is re-verified."""
    from ledger.identity import Identity, verify_signature

    who = Identity.derive(7, "DN1", "dno")
    message = b"bid: 12.5 MWh at 333 RMB/MWh"
    signature = who.sign(message)
    public = bytes.fromhex(who.public_hex)
    assert verify_signature(public, signature, message) and verify_signature(public, signature, message)
    for i in range(len(message)):
        flipped = bytearray(message)
        flipped[i] ^= 1
        assert not verify_signature(public, signature, bytes(flipped))
    for i in range(len(signature)):
        bad = bytearray(signature)
        bad[i] ^= 1
        assert not verify_signature(public, bytes(bad), message)
