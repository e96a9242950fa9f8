"""The fast Cox fit, public home: Newton-Raphson on the partial likelihood as R's ``coxph`` does it.

The engine lives in :mod:`necml.dataset._coxph` so that the fidelity stage (left of prognosis)
can use it too; see that module for the conventions: Efron ties by default (``ties="breslow"``
available), R's ``coxph.control`` convergence rule (relative change of the log-likelihood below
``eps = 1e-9``, step-halving, ``iter.max = 20``), aliased columns detected by R's ``cholesky2``
test (``toler.chol = .Machine$double.eps^0.75``) on the information at beta = 0 and reported
with coef NA, and infinite coefficients (monotone likelihood, separation) detected by R's
post-fit test and reported as not estimable while the other terms keep their estimates.
"""

from __future__ import annotations

from necml.dataset._coxph import AliasReason, NewtonCoxFit, fit_cox_newton

__all__ = ["AliasReason", "NewtonCoxFit", "fit_cox_newton"]
