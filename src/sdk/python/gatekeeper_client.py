#!/usr/bin/python3
"""Gatekeeper client in Python, beside the TypeScript SDK (docs/wire-formats.md is the contract).

It fetches the committee and a contract key from any of several committee members (failing over on
UNAVAILABLE, DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED within one deadline), verifies the roster
certificate chain and the contract key certificate (BIP340) against a pinned committee key, and seals
an invocation envelope v1 to the contract key with HPKE (RFC 9180, DHKEM(secp256k1, HKDF-SHA256),
KEM id 0x0016, HKDF-SHA256, AES-256-GCM).

Dependencies: Debian's python3-grpcio and python3-cryptography, nothing else. cryptography supplies
ECDH on SECP256K1, HMAC/HKDF-Expand and AES-GCM; this file adds only protocol code: RFC 9180's labeled
key schedule and DHKEM, the wire formats, a minimal protobuf codec for the four messages it uses, and
BIP340 verification. python3-cryptography has no Schnorr and Debian has no libsecp256k1 binding for it,
so BIP340 verification is the BIP's own reference algorithm over Python integers (a verifier of public
data: no secret ever enters it, so its lack of constant time does not matter).

Usage:
  gatekeeper_client.py seal --endpoint H:P [--endpoint H:P ...] --committee-key HEX --contract-id HEX
                            [--version N] --in FILE --out FILE [--timeout S]
  gatekeeper_client.py committee --endpoint H:P [...] --committee-key HEX
  (both take --tls-ca PEM [--tls-cert PEM --tls-key PEM] when the members run TLS)
  gatekeeper_client.py self-test --hpke-vectors FILE --wire-doc FILE
Exit codes: 0 done, 1 refused (a verification failed), 2 usage, 3 a Debian package is missing,
5 no member answered (RPC failure).
"""
import argparse
import hashlib
import json
import re
import struct
import sys
import time

MISSING_HINT = "install Debian's python3-grpcio and python3-cryptography (apt-get install python3-grpcio python3-cryptography; see .ci/apt-packages)"

try:
    import grpc
    from cryptography.hazmat.primitives import hashes, hmac
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
except ImportError as err:
    sys.stderr.write(f"gatekeeper_client.py: {err}: {MISSING_HINT}\n")
    sys.exit(3)


class Refused(Exception):
    """A response did not verify against the pinned committee key, or is malformed."""


# ---------------------------------------------------------------------------------------------
# Byte helpers (docs/wire-formats.md notation)

def u16be(v):
    return struct.pack(">H", v)


def u32be(v):
    return struct.pack(">I", v)


def lp(x):
    if len(x) > 0xFFFF:
        raise ValueError("lp: longer than 65535 bytes")
    return u16be(len(x)) + x


# ---------------------------------------------------------------------------------------------
# BIP340 verification: the reference code of BIP 340 (bip-0340/reference.py), Python integers.

P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)


def tagged_hash(tag, msg):
    t = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(t + t + msg).digest()


def _point_add(p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    if p1[0] == p2[0] and p1[1] != p2[1]:
        return None
    if p1 == p2:
        lam = (3 * p1[0] * p1[0] * pow(2 * p1[1], P - 2, P)) % P
    else:
        lam = ((p2[1] - p1[1]) * pow(p2[0] - p1[0], P - 2, P)) % P
    x3 = (lam * lam - p1[0] - p2[0]) % P
    return (x3, (lam * (p1[0] - x3) - p1[1]) % P)


def _point_mul(p, n):
    r = None
    for i in range(256):
        if (n >> i) & 1:
            r = _point_add(r, p)
        p = _point_add(p, p)
    return r


def _lift_x(x):
    if x >= P:
        return None
    y_sq = (pow(x, 3, P) + 7) % P
    y = pow(y_sq, (P + 1) // 4, P)
    if pow(y, 2, P) != y_sq:
        return None
    return (x, y if y & 1 == 0 else P - y)


def bip340_verify(pubkey, msg, sig):
    """BIP340 Verify(pk, m, sig) for a 32-byte x-only key and a 64-byte signature."""
    if len(pubkey) != 32 or len(sig) != 64:
        return False
    p = _lift_x(int.from_bytes(pubkey, "big"))
    r = int.from_bytes(sig[0:32], "big")
    s = int.from_bytes(sig[32:64], "big")
    if p is None or r >= P or s >= N:
        return False
    e = int.from_bytes(tagged_hash("BIP0340/challenge", sig[0:32] + pubkey + msg), "big") % N
    R = _point_add(_point_mul(G, s), _point_mul(p, N - e))
    return R is not None and R[1] % 2 == 0 and R[0] == r


# ---------------------------------------------------------------------------------------------
# HPKE (RFC 9180) base mode, DHKEM(secp256k1, HKDF-SHA256) per draft-wahby-cfrg-hpke-kem-secp256k1.

KEM_SECP256K1_SHA256 = 0x0016        # IANA; the draft's own vectors use 0x0013
KDF_HKDF_SHA256 = 0x0001
AEAD_AES_256_GCM = 0x0002
N_SK = 32
N_ENC = 65


def _hkdf_extract(salt, ikm):
    h = hmac.HMAC(salt if salt else b"\x00" * 32, hashes.SHA256())
    h.update(ikm)
    return h.finalize()


def _hkdf_expand(prk, info, length):
    return HKDFExpand(hashes.SHA256(), length, info).derive(prk)


def labeled_extract(suite_id, salt, label, ikm):
    """RFC 9180 §4: LabeledExtract."""
    return _hkdf_extract(salt, b"HPKE-v1" + suite_id + label + ikm)


def labeled_expand(suite_id, prk, label, info, length):
    """RFC 9180 §4: LabeledExpand."""
    return _hkdf_expand(prk, u16be(length) + b"HPKE-v1" + suite_id + label + info, length)


def kem_suite_id(kem_id):
    return b"KEM" + u16be(kem_id)


def hpke_suite_id(kem_id):
    return b"HPKE" + u16be(kem_id) + u16be(KDF_HKDF_SHA256) + u16be(AEAD_AES_256_GCM)


def _uncompressed(public_key):
    return public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def private_key_from_bytes(sk):
    v = int.from_bytes(sk, "big")
    if len(sk) != N_SK or not 0 < v < N:
        raise ValueError("not a valid secp256k1 secret key")
    return ec.derive_private_key(v, ec.SECP256K1())


def public_key_from_bytes(pk):
    """A 33- or 65-byte SEC1 point; cryptography checks it is on the curve."""
    if len(pk) not in (33, 65):
        raise ValueError("a secp256k1 public key is 33 or 65 bytes")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), pk)


def derive_key_pair(ikm, kem_id=KEM_SECP256K1_SHA256):
    """RFC 9180 §7.1.3 DeriveKeyPair with the draft's bitmask 0xff."""
    sid = kem_suite_id(kem_id)
    dkp_prk = labeled_extract(sid, b"", b"dkp_prk", ikm)
    for counter in range(256):
        candidate = bytearray(labeled_expand(sid, dkp_prk, b"candidate", bytes([counter]), N_SK))
        candidate[0] &= 0xFF
        v = int.from_bytes(candidate, "big")
        if 0 < v < N:
            return ec.derive_private_key(v, ec.SECP256K1())
    raise ValueError("DeriveKeyPair: no valid candidate")


def _extract_and_expand(kem_id, dh, kem_context):
    sid = kem_suite_id(kem_id)
    eae_prk = labeled_extract(sid, b"", b"eae_prk", dh)
    return labeled_expand(sid, eae_prk, b"shared_secret", kem_context, 32)


def encap(pk_r, kem_id=KEM_SECP256K1_SHA256, ikm_e=None):
    """RFC 9180 §4.1 Encap. DH is the x-coordinate of skE·pkR (cryptography's ECDH). ikm_e: tests only."""
    sk_e = derive_key_pair(ikm_e, kem_id) if ikm_e is not None else ec.generate_private_key(ec.SECP256K1())
    dh = sk_e.exchange(ec.ECDH(), pk_r)
    enc = _uncompressed(sk_e.public_key())
    return _extract_and_expand(kem_id, dh, enc + _uncompressed(pk_r)), enc


def decap(enc, sk_r, kem_id=KEM_SECP256K1_SHA256):
    """RFC 9180 §4.1 Decap."""
    if len(enc) != N_ENC or enc[0] != 4:
        raise ValueError("enc is not a 65-byte uncompressed point")
    pk_e = public_key_from_bytes(enc)
    dh = sk_r.exchange(ec.ECDH(), pk_e)
    return _extract_and_expand(kem_id, dh, enc + _uncompressed(sk_r.public_key()))


def key_schedule(shared_secret, info, kem_id=KEM_SECP256K1_SHA256):
    """RFC 9180 §5.1 KeySchedule, mode_base (no PSK): (key, base_nonce, exporter_secret)."""
    sid = hpke_suite_id(kem_id)
    psk_id_hash = labeled_extract(sid, b"", b"psk_id_hash", b"")
    info_hash = labeled_extract(sid, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = labeled_extract(sid, shared_secret, b"secret", b"")
    return (labeled_expand(sid, secret, b"key", context, 32), labeled_expand(sid, secret, b"base_nonce", context, 12),
            labeled_expand(sid, secret, b"exp", context, 32))


def seal_base(pk_r, info, aad, plaintext, kem_id=KEM_SECP256K1_SHA256, ikm_e=None):
    """RFC 9180 §6.1 SealBase (one message, sequence number 0): (enc, ciphertext)."""
    shared_secret, enc = encap(pk_r, kem_id, ikm_e)
    key, base_nonce, _ = key_schedule(shared_secret, info, kem_id)
    return enc, AESGCM(key).encrypt(base_nonce, plaintext, aad)


# ---------------------------------------------------------------------------------------------
# Wire formats (docs/wire-formats.md)

def invocation_info(cid, version):
    return b"gatekeeper/v1/invocation" + lp(cid) + u32be(version)


def seal_invocation(contract_public_key, cid, version, plaintext, aad=b"", ikm_e=None):
    """Envelope v1: 0x01 || lp(cid) || u32be(v) || enc(65) || ciphertext."""
    if not 1 <= len(cid) <= 0xFFFF:
        raise ValueError("contract id must be 1..65535 bytes")
    pk = public_key_from_bytes(contract_public_key)
    enc, ct = seal_base(pk, invocation_info(cid, version), aad, plaintext, ikm_e=ikm_e)
    return b"\x01" + lp(cid) + u32be(version) + enc + ct


def contract_key_message(cid, version, generation, public_key):
    return b"gatekeeper/v1/contract-key" + lp(cid) + u32be(version) + u32be(generation) + public_key


def roster_certificate_message(epoch, roster_bytes):
    return b"gatekeeper/v1/roster" + u32be(epoch) + hashlib.sha256(roster_bytes).digest()


def certificate_hash(epoch, roster_bytes, signature):
    return hashlib.sha256(u32be(epoch) + roster_bytes + signature).digest()


def worker_report_data(worker_hpke_key, worker_signing_key, nonce):
    return hashlib.sha512(b"gatekeeper/v1/worker" + worker_hpke_key + worker_signing_key + nonce).digest()


ROSTER_MAGIC = b"gatekeeper/v1/roster-bytes"


def decode_roster(b):
    """docs/roster.md, strictly: fixed lengths, members sorted by node id, identifiers 1..n, no trailing bytes."""
    off = 0

    def take(n, what):
        nonlocal off
        if off + n > len(b):
            raise Refused(f"roster bytes end inside {what}")
        out = b[off:off + n]
        off += n
        return out

    if take(len(ROSTER_MAGIC), "the header") != ROSTER_MAGIC:
        raise Refused("not canonical roster bytes (bad header)")
    epoch = struct.unpack(">I", take(4, "epoch"))[0]
    threshold = struct.unpack(">H", take(2, "threshold"))[0]
    n = struct.unpack(">H", take(2, "member count"))[0]
    roster = {"epoch": epoch, "threshold": threshold, "master_public_key": take(33, "MPK"), "committee_key": take(32, "CPK"),
              "previous_certificate_hash": take(32, "previous certificate hash"), "members": []}
    for i in range(n):
        m = {"node_id": take(16, "node id"), "identity_key": take(32, "identity key"), "transport_key": take(65, "transport key")}
        elen = struct.unpack(">H", take(2, "endpoint length"))[0]
        try:
            m["endpoint"] = take(elen, "endpoint").decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(f"member {i}: endpoint is not UTF-8") from None
        m["stake"] = struct.unpack(">Q", take(8, "stake"))[0]
        m["share_identifier"] = take(32, "share identifier")
        m["derivation_verifying_share"] = take(33, "derivation verifying share")
        m["signing_verifying_share"] = take(33, "signing verifying share")
        if roster["members"] and roster["members"][-1]["node_id"] >= m["node_id"]:
            raise Refused(f"member {i} is not sorted after member {i - 1} by node id")
        if int.from_bytes(m["share_identifier"], "big") != i + 1:
            raise Refused(f"member {i} has share identifier {m['share_identifier'].hex()}, expected {i + 1}")
        roster["members"].append(m)
    if off != len(b):
        raise Refused(f"{len(b) - off} bytes after the roster")
    return roster


def verify_roster_chain(certificates, pinned):
    """Genesis first: genesis signed by the pinned CPK, each later roster by the previous roster's CPK and
    linked by certificate_hash; every roster names the pinned CPK. Returns the newest roster."""
    if not certificates:
        raise Refused("the response carries no roster certificate")
    prev = None
    for i, c in enumerate(certificates):
        epoch, roster_bytes, signature = c["epoch"], c["roster_bytes"], c["signature"]
        roster = decode_roster(roster_bytes)
        if roster["epoch"] != epoch:
            raise Refused(f"roster certificate {i} says epoch {epoch} but its roster is epoch {roster['epoch']}")
        if roster["committee_key"] != pinned:
            raise Refused(f"the epoch {epoch} roster names committee key {roster['committee_key'].hex()}, not the pinned {pinned.hex()}")
        signer = prev["roster"]["committee_key"] if prev else pinned
        if not bip340_verify(signer, roster_certificate_message(epoch, roster_bytes), signature):
            raise Refused(f"the epoch {epoch} roster certificate is not signed by "
                          + (f"the epoch {prev['epoch']} committee key" if prev else "the pinned committee key"))
        if prev:
            if epoch <= prev["epoch"]:
                raise Refused(f"roster certificates out of order: epoch {epoch} after {prev['epoch']}")
            if roster["previous_certificate_hash"] != certificate_hash(prev["epoch"], prev["roster_bytes"], prev["signature"]):
                raise Refused(f"the epoch {epoch} roster does not chain to the epoch {prev['epoch']} certificate")
        prev = {"roster": roster, "epoch": epoch, "roster_bytes": roster_bytes, "signature": signature}
    return prev["roster"]


def verify_committee(res, pinned):
    """A GetCommittee response checked against the pinned CPK and its own certified roster."""
    roster = verify_roster_chain(res["certificates"], pinned)

    def differs(what):
        return Refused(f"the response's {what} disagrees with the certified epoch {roster['epoch']} roster")
    if res["epoch"] != roster["epoch"]:
        raise differs("epoch")
    if res["threshold"] != roster["threshold"]:
        raise differs("threshold")
    if res["committee_key"] != roster["committee_key"] or res["master_public_key"] != roster["master_public_key"]:
        raise differs("keys")
    if len(res["members"]) != len(roster["members"]):
        raise differs("member count")
    for i, (r, m) in enumerate(zip(res["members"], roster["members"])):
        same = all(r[k] == m[k] for k in ("node_id", "endpoint", "identity_key", "transport_key", "share_identifier",
                                          "derivation_verifying_share", "signing_verifying_share")) and r["stake"] == str(m["stake"])
        if not same:
            raise differs(f"member {i} ({m['node_id'].hex()})")
    return roster


def check_contract_key(pinned, cid, version, res):
    """The GetContractKey answer: for the requested contract (and version), a secp256k1 point, and a
    certificate that verifies under the pinned CPK."""
    what = f"contract {cid.hex()} " + (f"v{version}" if version else "(latest version)")
    if res["contract_id"] != cid:
        raise Refused(f"{what}: the answer is for another contract id ({res['contract_id'].hex()[:64]})")
    if version and res["version"] != version:
        raise Refused(f"{what}: the answer is for version {res['version']}")
    if res["version"] < 1:
        raise Refused(f"{what}: the answer has no key version")
    pk, cert = res["public_key"], res["certificate"]
    if len(pk) != 33:
        raise Refused(f"{what}: public key must be 33 bytes, got {len(pk)}")
    try:
        public_key_from_bytes(pk)
    except ValueError:
        raise Refused(f"{what}: public key is not a secp256k1 point") from None
    if len(cert) != 64:
        raise Refused(f"{what}: certificate must be 64 bytes, got {len(cert)}")
    if not bip340_verify(pinned, contract_key_message(cid, res["version"], res["generation"], pk), cert):
        raise Refused(f"{what}: the certificate (generation {res['generation']}) is not signed by the pinned committee key {pinned.hex()}")
    return res


# ---------------------------------------------------------------------------------------------
# Protobuf: the few messages of proto/gatekeeper/v1/public.proto and common.proto this client uses.

def _varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _fields(b):
    """field number -> list of values (ints for varints, bytes for length-delimited); others skipped."""
    out = {}
    off = 0

    def varint():
        nonlocal off
        v, shift = 0, 0
        while True:
            if off >= len(b) or shift > 63:
                raise Refused("malformed protobuf response")
            c = b[off]
            off += 1
            v |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                return v
    while off < len(b):
        key = varint()
        num, wt = key >> 3, key & 7
        if wt == 0:
            val = varint()
        elif wt == 2:
            n = varint()
            if off + n > len(b):
                raise Refused("malformed protobuf response")
            val, off = b[off:off + n], off + n
        elif wt in (1, 5):
            off += 8 if wt == 1 else 4
            continue
        else:
            raise Refused("malformed protobuf response")
        out.setdefault(num, []).append(val)
    return out


def _one(f, num, default):
    return f.get(num, [default])[-1]


def decode_member(b):
    f = _fields(b)
    names = {1: "node_id", 3: "identity_key", 4: "transport_key", 6: "share_identifier",
             7: "derivation_verifying_share", 8: "signing_verifying_share"}
    m = {name: bytes(_one(f, num, b"")) for num, name in names.items()}
    m["endpoint"] = bytes(_one(f, 2, b"")).decode("utf-8", "replace")
    m["stake"] = bytes(_one(f, 5, b"")).decode("utf-8", "replace")
    return m


def decode_committee(b):
    f = _fields(b)
    certs = []
    for c in f.get(6, []):
        cf = _fields(c)
        certs.append({"epoch": _one(cf, 1, 0), "roster_bytes": bytes(_one(cf, 2, b"")), "signature": bytes(_one(cf, 3, b""))})
    return {"epoch": _one(f, 1, 0), "threshold": _one(f, 2, 0), "committee_key": bytes(_one(f, 3, b"")),
            "master_public_key": bytes(_one(f, 4, b"")), "members": [decode_member(m) for m in f.get(5, [])], "certificates": certs}


def decode_contract_key(b):
    f = _fields(b)
    return {"contract_id": bytes(_one(f, 1, b"")), "version": _one(f, 2, 0), "generation": _one(f, 3, 0),
            "public_key": bytes(_one(f, 4, b"")), "certificate": bytes(_one(f, 5, b""))}


def encode_get_contract_key(cid, version):
    out = b"\x0a" + _varint(len(cid)) + cid
    return out + (b"\x10" + _varint(version) if version else b"")


# ---------------------------------------------------------------------------------------------
# The client: several endpoints, failover of these idempotent reads within one deadline.

TRANSIENT = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED")


class RpcFailure(Exception):
    """No member gave an answer (or one gave a definite refusal status)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class Client:
    def __init__(self, endpoints, pinned_committee_key, timeout_s=10.0, credentials=None):
        """credentials: grpc.ssl_channel_credentials(...) for members that run TLS; None is plaintext."""
        if len(pinned_committee_key) != 32:
            raise ValueError("the pinned committee key must be 32 bytes (x-only BIP340)")
        if not endpoints:
            raise ValueError("give at least one endpoint")
        self.endpoints = list(dict.fromkeys(endpoints))
        self.pinned = pinned_committee_key
        self.timeout_s = timeout_s
        self.credentials = credentials
        self.channels = {}

    def _call(self, method, request):
        deadline = time.monotonic() + self.timeout_s
        attempts = []
        code = "DEADLINE_EXCEEDED"
        for i, endpoint in enumerate(self.endpoints):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            # Share what is left among the members not asked yet: a silent member cannot use it all.
            per_try = max(min(left, 0.5), left / (len(self.endpoints) - i))
            channel = self.channels.get(endpoint)
            if channel is None:
                channel = grpc.secure_channel(endpoint, self.credentials) if self.credentials else grpc.insecure_channel(endpoint)
                self.channels[endpoint] = channel
            stub = channel.unary_unary(f"/gatekeeper.v1.PublicService/{method}", request_serializer=None, response_deserializer=None)
            try:
                return stub(request, timeout=per_try)
            except grpc.RpcError as err:
                code = err.code().name
                attempts.append(f"{endpoint}: {code}: {(err.details() or '')[:160]}")
                if code not in TRANSIENT:
                    raise RpcFailure(code, f"{method} on {endpoint}: {code}: {(err.details() or '')[:160]}") from None
        raise RpcFailure(code, f"{method}: no member answered within {self.timeout_s:g} s ({'; '.join(attempts[-8:])})")

    def committee(self):
        """GetCommittee, verified against the pinned CPK; the certified roster's endpoints join the failover list."""
        roster = verify_committee(decode_committee(self._call("GetCommittee", b"")), self.pinned)
        for m in roster["members"]:
            if m["endpoint"] not in self.endpoints:
                self.endpoints.append(m["endpoint"])
        return roster

    def contract_key(self, cid, version=0):
        """GetContractKey; the key is returned only if its certificate verifies under the pinned CPK."""
        if not 1 <= len(cid) <= 255:
            raise ValueError("contract id must be 1..255 bytes")
        res = decode_contract_key(self._call("GetContractKey", encode_get_contract_key(cid, version)))
        return check_contract_key(self.pinned, cid, version, res)

    def close(self):
        for c in self.channels.values():
            c.close()


# ---------------------------------------------------------------------------------------------
# Self-test: the draft's HPKE vectors (KEM id as a parameter) and the golden vectors of the doc.

def _vectors_of(markdown):
    out = {}
    for name, body in re.findall(r"^```vector ([a-z0-9-]+)\n(.*?)^```$", markdown, re.M | re.S):
        out[name] = {k: v for k, v in re.findall(r"^([a-z0-9_]+) += ?([0-9a-f]*)$", body, re.M)}
    return out


def self_test(hpke_vectors_file, wire_doc_file):
    results = {}
    with open(hpke_vectors_file, encoding="utf-8") as f:
        fixture = json.load(f)
    kem_id = int(fixture["kem_id_used_by_these_vectors"], 16)
    ok = []
    for v in fixture["vectors"]:
        h = bytes.fromhex
        sk_e = derive_key_pair(h(v["ikmE"]), kem_id)
        sk_r = derive_key_pair(h(v["ikmR"]), kem_id)
        pk_r = public_key_from_bytes(h(v["pkRm"]))
        shared, enc = encap(pk_r, kem_id, ikm_e=h(v["ikmE"]))
        key, base_nonce, exporter = key_schedule(shared, h(v["info"]), kem_id)
        ok.append(sk_e.private_numbers().private_value.to_bytes(32, "big").hex() == v["skEm"]
                  and sk_r.private_numbers().private_value.to_bytes(32, "big").hex() == v["skRm"]
                  and enc.hex() == v["pkEm"] and shared.hex() == v["shared_secret"] and decap(enc, sk_r, kem_id) == shared
                  and key.hex() == v["key"] and base_nonce.hex() == v["base_nonce"] and exporter.hex() == v["exporter_secret"])
        # With the production id nothing matches: the id is really a parameter of both suite ids.
        ok.append(encap(pk_r, KEM_SECP256K1_SHA256, ikm_e=h(v["ikmE"]))[0].hex() != v["shared_secret"])
    results["hpke_draft_vectors"] = {"kem_id": f"0x{kem_id:04x}", "count": len(fixture["vectors"]), "ok": all(ok)}

    with open(wire_doc_file, encoding="utf-8") as f:
        vec = _vectors_of(f.read())
    h = bytes.fromhex
    e = vec["envelope-v1"]
    sk_c = private_key_from_bytes(h(e["contract_secret_key"]))
    pk_c = sk_c.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    env = seal_invocation(h(e["contract_public_key"]), h(e["contract_id"]), int(e["version"], 16), h(e["plaintext"]), h(e["aad"]), ikm_e=h(e["ikm_e"]))
    results["envelope-v1"] = pk_c.hex() == e["contract_public_key"] and env.hex() == e["envelope"] \
        and invocation_info(h(e["contract_id"]), int(e["version"], 16)).hex() == e["info"]
    c = vec["contract-key-certificate"]
    msg = contract_key_message(h(c["contract_id"]), int(c["version"], 16), int(c["generation"], 16), h(c["public_key"]))
    results["contract-key-certificate"] = msg.hex() == c["message"] and bip340_verify(h(c["committee_key"]), msg, h(c["certificate"])) \
        and not bip340_verify(h(c["committee_key"]), msg + b"\x00", h(c["certificate"]))
    r = vec["roster-certificate"]
    cert = {"epoch": int(r["epoch"], 16), "roster_bytes": h(r["roster_bytes"]), "signature": h(r["signature"])}
    try:
        verify_roster_chain([cert], h(r["committee_key"]))
        chain_ok = True
    except Refused:
        chain_ok = False
    results["roster-certificate"] = chain_ok and roster_certificate_message(cert["epoch"], cert["roster_bytes"]).hex() == r["message"] \
        and certificate_hash(cert["epoch"], cert["roster_bytes"], cert["signature"]).hex() == r["certificate_hash"]
    d = vec["report-data"]
    results["report-data"] = worker_report_data(h(d["worker_hpke_key"]), h(d["worker_signing_key"]), h(d["nonce"])).hex() == d["report_data"]
    results["ok"] = results["hpke_draft_vectors"]["ok"] and all(results[k] for k in ("envelope-v1", "contract-key-certificate", "roster-certificate", "report-data"))
    return results


# ---------------------------------------------------------------------------------------------

def _hex_arg(what, length=None):
    def parse(s):
        if not re.fullmatch(r"([0-9a-fA-F]{2})*", s) or (length is not None and len(s) != 2 * length):
            raise argparse.ArgumentTypeError(f"{what} must be {'%d bytes of ' % length if length else ''}hex")
        return bytes.fromhex(s)
    return parse


def main(argv):
    parser = argparse.ArgumentParser(prog="gatekeeper_client.py", description="Gatekeeper client (Python)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("seal", "committee"):
        p = sub.add_parser(name)
        p.add_argument("--endpoint", action="append", required=True, help="host:port of a member; repeat to fail over")
        p.add_argument("--committee-key", type=_hex_arg("--committee-key", 32), required=True, help="the pinned CPK, 64 hex")
        p.add_argument("--timeout", type=float, default=10.0, help="one deadline for each call, seconds")
        p.add_argument("--tls-ca", help="trust this CA (PEM) and use TLS")
        p.add_argument("--tls-cert", help="client certificate (PEM) for mTLS, with --tls-key")
        p.add_argument("--tls-key", help="client key (PEM) for mTLS, with --tls-cert")
        if name == "seal":
            p.add_argument("--contract-id", type=_hex_arg("--contract-id"), required=True)
            p.add_argument("--version", type=int, default=0)
            p.add_argument("--in", dest="infile", required=True)
            p.add_argument("--out", dest="outfile", required=True)
    t = sub.add_parser("self-test")
    t.add_argument("--hpke-vectors", required=True)
    t.add_argument("--wire-doc", required=True)
    args = parser.parse_args(argv)

    if args.command == "self-test":
        res = self_test(args.hpke_vectors, args.wire_doc)
        print(json.dumps(res, indent=2, sort_keys=True))
        return 0 if res["ok"] else 1

    credentials = None
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    if args.tls_ca is not None:
        def read(path, what):
            try:
                with open(path, "rb") as f:
                    return f.read()
            except OSError as err:
                parser.error(f"cannot read {what} {path}: {err.strerror}")
        credentials = grpc.ssl_channel_credentials(
            root_certificates=read(args.tls_ca, "CA certificate"),
            private_key=read(args.tls_key, "client key") if args.tls_key else None,
            certificate_chain=read(args.tls_cert, "client certificate") if args.tls_cert else None)
    elif args.tls_cert is not None:
        parser.error("--tls-cert needs --tls-ca")
    client = Client(args.endpoint, args.committee_key, args.timeout, credentials)
    try:
        roster = client.committee()
        out = {"committee": {"epoch": roster["epoch"], "threshold": roster["threshold"], "members": len(roster["members"]),
                             "endpoints": client.endpoints}}
        if args.command == "seal":
            if not 1 <= len(args.contract_id) <= 255:
                parser.error("--contract-id must be 1..255 bytes")
            with open(args.infile, "rb") as f:
                plaintext = f.read()
            key = client.contract_key(args.contract_id, args.version)
            envelope = seal_invocation(key["public_key"], args.contract_id, key["version"], plaintext)
            with open(args.outfile, "wb") as f:
                f.write(envelope)
            out["contract_key"] = {"contract_id": key["contract_id"].hex(), "version": key["version"], "generation": key["generation"],
                                   "public_key": key["public_key"].hex(), "certificate": key["certificate"].hex()}
            out["envelope_bytes"] = len(envelope)
        print(json.dumps(out, indent=2, sort_keys=True))
        return 0
    except Refused as err:
        sys.stderr.write(f"gatekeeper_client.py: refused: {err}\n")
        return 1
    except RpcFailure as err:
        sys.stderr.write(f"gatekeeper_client.py: {err}\n")
        return 5
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
