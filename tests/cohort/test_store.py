"""The disk cache of fitted mechanisms: a hit returns the same mechanism; a broken entry refits."""

from __future__ import annotations

import numpy as np

from necml.cohort import _model, _store, fit_cohort_model, generate_cohort


def test_cached_mechanism_draws_the_same_cohort(lcnec, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NECML_CACHE_DIR", str(tmp_path))
    first = fit_cohort_model(lcnec)
    key = _model.mechanism_key(lcnec)
    _store.save_model(key, first)
    entries = list((tmp_path / "mechanisms").glob("*.pkl"))
    assert len(entries) == 1 and key[:32] in entries[0].name
    monkeypatch.setattr(_model, "_CACHE", {})
    monkeypatch.setattr(_model, "_BY_IDENTITY", {})
    loaded = fit_cohort_model(lcnec)
    assert loaded is not first
    np.testing.assert_array_equal(loaded.outcome.post_log_hr, first.outcome.post_log_hr)
    a = generate_cohort(lcnec, 50, seed=3, model=first)
    b = generate_cohort(lcnec, 50, seed=3, model=loaded)
    assert a.equals(b)


def test_broken_entry_is_ignored_and_disabled_cache_writes_nothing(lcnec, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NECML_CACHE_DIR", str(tmp_path))
    model = fit_cohort_model(lcnec)
    key = _model.mechanism_key(lcnec)
    _store.save_model(key, model)
    (entry,) = (tmp_path / "mechanisms").glob("*.pkl")
    entry.write_bytes(b"not a pickle")
    assert _store.load_model(key) is None
    monkeypatch.setenv("NECML_CACHE_DIR", "off")
    assert _store.cache_dir() is None
    _store.save_model(key, model)  # a no-op
    assert _store.load_model(key) is None


def test_a_renamed_spec_shares_the_mechanism_and_keeps_its_own_hash(lcnec) -> None:
    from necml.spec import spec_hash

    renamed = lcnec.model_copy(update={"name": "lcnec_renamed", "title": "another title"})
    a, b = fit_cohort_model(lcnec), fit_cohort_model(renamed)
    assert _model.mechanism_key(lcnec) == _model.mechanism_key(renamed)
    assert a.outcome is b.outcome and b.spec is renamed and b.spec_hash == spec_hash(renamed) != a.spec_hash
