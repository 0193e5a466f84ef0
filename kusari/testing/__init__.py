"""Test helpers users can run on their own ops and layers: the op-table checks and gradient checks."""
from kusari.autograd.gradcheck import gradcheck, gradgradcheck

__all__ = ["OpSpec", "check_backends", "check_double_grad", "check_forward", "check_grad", "check_torch", "gradcheck",
           "gradgradcheck", "make_op_tests"]


def __getattr__(name):
    # op_test imports numpy and pytest-friendly helpers; load it only when asked
    if name in ("OpSpec", "make_op_tests", "check_forward", "check_grad", "check_double_grad", "check_torch"):
        from kusari.testing import op_test
        return getattr(op_test, name)
    if name == "check_backends":
        from kusari.testing.backends import check_backends
        return check_backends
    raise AttributeError(name)
