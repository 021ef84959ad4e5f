# lrcore/cython_api.pxd -- lrcore's public, versioned C-level API for Cython code.
#
#     from lrcore.cython_api cimport adam_f64, STATUS_OK, C_API_VERSION
#
# The model is scipy.linalg.cython_blas: the functions are implemented by the installed
# extension lrcore._core and reached through its function-pointer table when the
# consumer module is imported; there is no header to include, no library to link and no
# extra runtime module.  Everything is ``noexcept nogil`` (except schedule_program),
# returns a status code (STATUS_OK == 0) and allocates nothing.  The full contract of
# each function is in lrcore/_core.pxd and in the C header lrcore.h (directory
# lrcore.get_include(); the same functions with the lrc_ prefix).
#
# Versioning: C_API_VERSION (here, compiled into the consumer) equals
# LRCORE_C_API_VERSION of lrcore.h and lrcore.C_API_VERSION at run time; it is bumped
# whenever a declaration changes incompatibly.  A consumer built against one version can
# refuse to run against another:
#
#     import lrcore
#     if lrcore.C_API_VERSION != C_API_VERSION:
#         raise ImportError("rebuild against the installed lrcore")
#
# Contents:
#   update kernels   all_finite, sgd, momentum, adam, rmsprop, adagrad (_f64 / _f32)
#   mat-vecs         symv_f64/_f32 (one triangle) + symv_workspace_size, csrmv_*
#   eigen-solver     eig_state_size, eig_workspace_size, eig_init, eig_iterate, eig_result
#   descend          descend_state_size, descend_workspace_size, descend_init,
#                    descend_iterate, descend_tell, descend_result, descend_request,
#                    descend_set_rule
#   step-size rules  rule_params, rule_state_size, rule_workspace_size, rule_init,
#                    rule_step, rule_result
#   schedules        schedule_program, schedule_eval, schedule_value
#   constants        C_API_VERSION, STATUS_*, REQ_*, EIG_*, METHOD_*, RUN_*

from lrcore._core cimport (
    C_API_VERSION,
    STATUS_OK, STATUS_NONFINITE, STATUS_EINVAL, STATUS_ENOMEM, STATUS_NOT_CONVERGED,
    STATUS_BREAKDOWN,
    REQ_MATVEC, REQ_VALUE_GRAD, REQ_VALUE, REQ_HVP, EIG_REQ_MATVEC,
    EIG_LA, EIG_LM, EIG_SA, EIG_LANCZOS, EIG_POWER, EIG_LANCZOS_LOWMEM, EIG_MAX_NCV,
    METHOD_GD, METHOD_HEAVY_BALL, METHOD_NESTEROV, METHOD_ADAM,
    RUN_COMPLETED, RUN_CONVERGED, RUN_DIVERGED, RUN_STOPPED,
    # update kernels
    all_finite_f64, all_finite_f32, sgd_f64, sgd_f32, momentum_f64, momentum_f32,
    adam_f64, adam_f32, rmsprop_f64, rmsprop_f32, adagrad_f64, adagrad_f32,
    # symmetric mat-vecs
    symv_workspace_size, symv_f64, symv_f32,
    csrmv_f64_i32, csrmv_f64_i64, csrmv_f32_i32, csrmv_f32_i64,
    # eigen-solver (reverse communication)
    eig_state_size, eig_workspace_size, eig_init, eig_iterate, eig_result,
    # descend (reverse communication)
    descend_state_size, descend_workspace_size, descend_init, descend_iterate,
    descend_tell, descend_result, descend_request, descend_set_rule,
    # step-size rules
    rule_params, rule_state_size, rule_workspace_size, rule_init, rule_step, rule_result,
    # schedules
    schedule_program, schedule_eval, schedule_value,
)
