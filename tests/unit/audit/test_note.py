"""Checkpoints as C2SP signed notes: the Go sumdb/note reference note is reproduced byte for
byte (Ed25519 is deterministic), checkpoints verify with the published key and fail when any
part is changed, and a witness's cosignature/v1 verifies with its own key."""

import pytest

from zhida.audit.note import Checkpoint, NoteError, Signer, Verifier, cosign, parse, sign, sign_text, verify_checkpoint

# golang.org/x/mod/sumdb/note's documented example
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = (GO_TEXT + "\n— PeterNeumann "
           "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")


def test_the_reference_note_is_reproduced_byte_for_byte():
    signer = Signer.from_text(GO_SKEY)
    assert signer.verifier() == GO_VKEY and signer.to_text() == GO_SKEY
    assert sign_text(GO_TEXT, signer) == GO_NOTE
    assert Verifier.from_text(GO_VKEY).public == signer.public


@pytest.mark.parametrize("bad", [GO_VKEY.replace("c74f20a3", "c74f20a4"), "PeterNeumann+c74f20a3", GO_VKEY + "x"])
def test_a_mangled_verifier_key_is_refused(bad):
    with pytest.raises(NoteError):
        Verifier.from_text(bad)


@pytest.fixture
def log():
    return Signer.generate("zhida.example/audit")


def test_a_checkpoint_verifies_with_the_log_key_and_fails_when_changed(log):
    cp = Checkpoint("zhida.example/audit", 42, bytes(range(32)))
    note = sign(cp, log)
    assert note.splitlines()[:3] == ["zhida.example/audit", "42", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="]
    assert verify_checkpoint(note, log.verifier()) == (cp, ["zhida.example/audit"])
    for changed in (note.replace("\n42\n", "\n43\n"), note.replace("AAEC", "AAED"),
                    note.replace("zhida.example/audit\n", "zhida.example/audi7\n", 1)):
        with pytest.raises(NoteError):
            verify_checkpoint(changed, log.verifier())
    with pytest.raises(NoteError, match="没有日志"):
        verify_checkpoint(note, Signer.generate("zhida.example/audit").verifier())


def test_a_department_cosigns_and_its_cosignature_verifies(log):
    note = sign(Checkpoint("zhida.example/audit", 7, bytes(32)), log)
    hrss = Signer.generate("hrss.wenzhou.example")
    cosigned = cosign(note, hrss, 1_780_000_000)
    assert verify_checkpoint(cosigned, log.verifier(), (hrss.verifier(),))[1] == [
        "zhida.example/audit", "hrss.wenzhou.example"]
    with pytest.raises(NoteError, match="缺少见证方"):
        verify_checkpoint(note, log.verifier(), (hrss.verifier(),))
    forged = cosigned.replace("\n7\n", "\n8\n")
    with pytest.raises(NoteError):
        verify_checkpoint(forged, log.verifier(), (hrss.verifier(),))


def test_a_malformed_note_says_what_is_wrong():
    with pytest.raises(NoteError, match="空行"):
        parse("zhida\n1\nAAAA\n")
    with pytest.raises(NoteError, match="树大小"):
        parse("zhida\nx\nAAAA\n\n— zhida AAAA\n")
