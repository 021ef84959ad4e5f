# _descend.pxi -- bindings of csrc/descend.c: the optimizer loop as a reverse-communication
# machine.  Included by _core.pyx after _problems.pxi (the built-in problems it runs in
# C).  The Python API is lrcore.stability.descend.
#
# One loop, three drivers of the same C machine (lrc_descend_init / lrc_descend_iterate):
#   * built-in problems: lrc_problem_descend (C, no GIL) answers the requests with the
#     problem's value and gradient, in slices of _PAUSE_SECONDS between signal checks
#     (_descend_problem below, behind CProblem.descend);
#   * a Python value_and_grad(x) -> (f, g): descend_callable below answers them in Python;
#   * another Cython module: descend_init/iterate/tell/result of cython_api.pxd.
# Arguments are validated here (the Python layer validates them too, with its own
# messages); nothing is written before every check has passed, and every run works on
# a copy of x0, so an error or a KeyboardInterrupt never leaves half-written state.

from libc.string cimport memcpy, memset
from libc.math cimport NAN, INFINITY, fabs
from libc.stdint cimport int32_t, uint64_t

cdef extern from "lrcore.h" nogil:
    int LRC_METHOD_GD
    int LRC_METHOD_HEAVY_BALL
    int LRC_METHOD_NESTEROV
    int LRC_METHOD_ADAM
    int LRC_RUN_COMPLETED
    int LRC_RUN_CONVERGED
    int LRC_RUN_DIVERGED
    int LRC_RUN_STOPPED
    int LRC_REQ_VALUE
    int LRC_REQ_HVP
    int LRC_RULE_ARMIJO
    int LRC_RULE_POLYAK
    int LRC_RULE_BB
    int LRC_RULE_ADGD
    int LRC_RULE_DOG
    int LRC_RULE_DADAPT_SGD
    int LRC_RULE_PRODIGY
    int LRC_RULE_SCHEDULE_FREE
    int LRC_RULE_CURVATURE
    int LRC_RULE_BACKTRACK
    int LRC_RULE_BIAS_CORRECTION
    int LRC_RULE_SAFEGUARD_WARMUP
    ctypedef struct lrc_run_opts:
        int method
        double momentum
        double beta2
        double eps
        double tol
        double blowup
        int64_t record_every
    ctypedef struct lrc_rule:
        int kind
        int variant
        int flags
        int ncv
        int64_t max_backtracks
        int64_t memory
        int64_t every
        int64_t warmup_steps
        int64_t maxmv
        uint64_t seed
        double lr
        double c
        double shrink
        double grow
        double min_lr
        double max_lr
        double f_star
        double reps_rel
        double eps
        double d0
        double d_coef
        double growth_rate
        double beta1
        double beta2
        double beta3
        double momentum
        double weight_decay
        double r
        double weight_lr_power
        double scale
        double tol
        double v0_mix
    ctypedef struct lrc_rule_state:
        double lr
        double lambda_ "lambda"
        int event
        int64_t t
        lrc_rule rule
        ptrdiff_t n
        double prev_lr, theta, gsum, rbar, d, d_max, numerator, g0norm, weight_sum, lr_max
        double trial_lr, trial_ref, trial_gg
        int64_t backtracks, n_measure, nfhist, last_measure
        int have_vec, in_trial
        double *s
    ctypedef struct lrc_descend_trace:
        double *rates
        double *lambdas
        int64_t *n_evals
        int64_t *n_hvps
        int32_t *events
    ctypedef struct lrc_descend:
        const double *x
        double *g
        double f
        int status
        const double *v
        double *hv
        int64_t steps_run
        int64_t n_evals
        int64_t n_grads
        int64_t n_hvps
        double loss
        double gnorm
        int outcome
        int reason
        ptrdiff_t n
    int lrc_descend_workspace_size(ptrdiff_t n, int method, size_t *size)
    int lrc_descend_init(lrc_descend *s, double *x, ptrdiff_t n, const double *lrs,
                         int64_t steps, const lrc_run_opts *opts, double *work, size_t lwork,
                         double *losses, double *gnorms)
    int lrc_descend_set_rule(lrc_descend *s, lrc_rule_state *rule,
                             const lrc_descend_trace *trace)
    int lrc_descend_iterate(lrc_descend *s)
    int lrc_problem_descend(const lrc_problem *p, lrc_descend *s, double max_seconds)
    int lrc_rule_check(const lrc_rule *r)
    int lrc_rule_workspace_size(const lrc_rule *r, ptrdiff_t n, size_t *size)
    int lrc_rule_init(lrc_rule_state *st, const lrc_rule *r, ptrdiff_t n, const double *x0,
                      double *work, size_t lwork)
    int lrc_rule_step(lrc_rule_state *st, double *x, const double *g, double f)


#: the optimizer methods of the C loop by name (lrcore._validation checks its table against
#: this one when it is imported, as the status codes are checked against lrcore.h)
METHOD_CODES = {"gd": LRC_METHOD_GD, "heavy_ball": LRC_METHOD_HEAVY_BALL,
                "nesterov": LRC_METHOD_NESTEROV, "adam": LRC_METHOD_ADAM}
_METHODS = METHOD_CODES
_OUTCOMES = {0: "completed", 1: "converged", 2: "diverged", 3: "stopped"}
#: why a rule ended a run (LRC_STOP_*)
_REASONS = {0: None, 1: "line_search_failed", 2: "no_curvature", 3: "target_reached",
            4: "zero_gradient"}

# descend_callable releases the GIL around the machine's own work (the update step) from
# this many parameters on; below, releasing costs more than the step
cdef Py_ssize_t _DESCEND_NOGIL_N = 8192


# ---- C-level API (declared in _core.pxd) ------------------------------------------------

cdef size_t descend_state_size() noexcept nogil:
    return sizeof(lrc_descend)

cdef int descend_workspace_size(Py_ssize_t n, int method, size_t *size) noexcept nogil:
    return lrc_descend_workspace_size(n, method, size)

cdef int descend_init(void *state, double *x, Py_ssize_t n, const double *lrs,
                      int64_t steps, int method, double momentum, double beta2, double eps,
                      double tol, double blowup, int64_t record_every, double *work,
                      size_t lwork, double *losses, double *gnorms) noexcept nogil:
    cdef lrc_run_opts o
    o.method = method
    o.momentum = momentum
    o.beta2 = beta2
    o.eps = eps
    o.tol = tol
    o.blowup = blowup
    o.record_every = record_every
    return lrc_descend_init(<lrc_descend *>state, x, n, lrs, steps, &o, work, lwork,
                            losses, gnorms)

cdef int descend_iterate(void *state, const double **x, double **g) noexcept nogil:
    cdef lrc_descend *s = <lrc_descend *>state
    if s == NULL:
        return STATUS_EINVAL
    cdef int st = lrc_descend_iterate(s)
    if x != NULL:
        x[0] = s.x
    if g != NULL:
        g[0] = s.g
    return st

cdef int descend_tell(void *state, double f, int status) noexcept nogil:
    cdef lrc_descend *s = <lrc_descend *>state
    if s == NULL:
        return STATUS_EINVAL
    s.f = f
    s.status = status
    return STATUS_OK

cdef int descend_result(const void *state, int64_t *steps_run, double *loss, double *gnorm,
                        int *outcome) noexcept nogil:
    cdef const lrc_descend *s = <const lrc_descend *>state
    if s == NULL:
        return STATUS_EINVAL
    if steps_run != NULL:
        steps_run[0] = s.steps_run
    if loss != NULL:
        loss[0] = s.loss
    if gnorm != NULL:
        gnorm[0] = s.gnorm
    if outcome != NULL:
        outcome[0] = s.outcome
    return STATUS_OK


cdef int descend_request(const void *state, const double **x, double **g, const double **v,
                         double **hv) noexcept nogil:
    cdef const lrc_descend *s = <const lrc_descend *>state
    if s == NULL:
        return STATUS_EINVAL
    if x != NULL:
        x[0] = s.x
    if g != NULL:
        g[0] = s.g
    if v != NULL:
        v[0] = s.v
    if hv != NULL:
        hv[0] = s.hv
    return STATUS_OK

cdef int descend_set_rule(void *state, void *rule_state) noexcept nogil:
    return lrc_descend_set_rule(<lrc_descend *>state, <lrc_rule_state *>rule_state, NULL)

cdef size_t rule_state_size() noexcept nogil:
    return sizeof(lrc_rule_state)

cdef int rule_workspace_size(const void *params, Py_ssize_t n, size_t *size) noexcept nogil:
    return lrc_rule_workspace_size(<const lrc_rule *>params, n, size)

cdef int rule_init(void *state, const void *params, Py_ssize_t n, const double *x0,
                   double *work, size_t lwork) noexcept nogil:
    return lrc_rule_init(<lrc_rule_state *>state, <const lrc_rule *>params, n, x0, work, lwork)

cdef int rule_step(void *state, double *x, const double *g, double f) noexcept nogil:
    return lrc_rule_step(<lrc_rule_state *>state, x, g, f)

cdef int rule_result(const void *state, double *lr, int *event, int64_t *t) noexcept nogil:
    cdef const lrc_rule_state *s = <const lrc_rule_state *>state
    if s == NULL:
        return STATUS_EINVAL
    if lr != NULL:
        lr[0] = s.lr
    if event != NULL:
        event[0] = s.event
    if t != NULL:
        t[0] = s.t
    return STATUS_OK

cdef const void *rule_params(object rule) except NULL:
    if not isinstance(rule, RuleBase):
        raise TypeError(f"rule must be a step-size rule of lrcore.adaptive, got "
                        f"{type(rule).__name__}")
    return <const void *>&(<RuleBase>rule).r


# the C-level constants of _core.pxd's descend part mirror lrcore.h
if not (REQ_VALUE == LRC_REQ_VALUE and REQ_HVP == LRC_REQ_HVP
        and RUN_STOPPED == LRC_RUN_STOPPED):
    raise ImportError("lrcore._core: _core.pxd and lrcore.h disagree on descend's constants")


# ---- step-size rules ---------------------------------------------------------------------

#: rule names (lrcore.adaptive's factories) -> LRC_RULE_* codes
RULE_KINDS = {"armijo": LRC_RULE_ARMIJO, "polyak": LRC_RULE_POLYAK,
              "barzilai_borwein": LRC_RULE_BB, "adgd": LRC_RULE_ADGD, "dog": LRC_RULE_DOG,
              "dadapt_sgd": LRC_RULE_DADAPT_SGD, "prodigy": LRC_RULE_PRODIGY,
              "schedule_free": LRC_RULE_SCHEDULE_FREE, "curvature": LRC_RULE_CURVATURE}
#: rules that also change the iterates (a method of their own, not a rate for gd)
METHOD_RULES = ("dadapt_sgd", "prodigy", "schedule_free")
#: rules that need requests only the descend machine makes (trial values, HVPs)
MACHINE_RULES = ("armijo", "curvature")
#: per-step event codes (LRC_EVENT_*) -> names
EVENTS = ("", "fallback_last", "fallback_backtrack", "clamped", "measured", "no_curvature",
          "no_step")


cdef inline double _p(dict p, str key, double default=NAN) except? -1.0:
    v = p.get(key)
    return default if v is None else _real(v, key)


cdef inline int64_t _pi(dict p, str key, int64_t default=0) except? -1:
    v = p.get(key)
    return default if v is None else <int64_t>_index(v, key)


cdef int _fill_rule(lrc_rule *r, str name, dict p) except -1:
    """The C parameter block of rule ``name`` from its parameters (checked by
    lrc_rule_check; lrcore.adaptive has already validated them with readable messages)."""
    if name not in RULE_KINDS:
        raise ValueError(f"unknown step-size rule {name!r}; known: {', '.join(RULE_KINDS)}")
    memset(r, 0, sizeof(lrc_rule))
    r.kind = RULE_KINDS[name]
    r.max_lr = INFINITY
    r.growth_rate = INFINITY
    if name == "armijo":
        r.lr = _p(p, "lr0", 1.0)
        r.c = _p(p, "c", 1e-4)
        r.shrink = _p(p, "shrink", 0.5)
        r.grow = _p(p, "grow", 2.0)
        r.max_backtracks = _pi(p, "max_backtracks", 50)
        r.memory = _pi(p, "nonmonotone", 0)
        r.max_lr = _p(p, "max_lr", INFINITY)
    elif name == "polyak":
        r.f_star = _p(p, "f_star", 0.0)
        r.max_lr = _p(p, "max_lr", INFINITY)
    elif name == "barzilai_borwein":
        r.variant = <int>_pi(p, "variant", 1)
        r.min_lr = _p(p, "min_lr", 1e-10)
        r.max_lr = _p(p, "max_lr", 1e10)
        r.lr = _p(p, "lr0", 1.0)
        if p.get("fallback", "backtrack") == "backtrack":
            r.flags |= LRC_RULE_BACKTRACK
        r.c = _p(p, "c", 1e-4)
        r.shrink = _p(p, "shrink", 0.5)
        r.max_backtracks = _pi(p, "max_backtracks", 50)
    elif name == "adgd":
        r.lr = _p(p, "lr0", 1e-10)
        r.variant = int(p.get("variant", 2020))
    elif name == "dog":
        r.reps_rel = _p(p, "reps_rel", 1e-6)
        r.eps = _p(p, "eps", 1e-8)
    elif name == "dadapt_sgd":
        r.lr = _p(p, "lr", 1.0)
        r.d0 = _p(p, "d0", 1e-6)
        r.growth_rate = _p(p, "growth_rate", INFINITY)
        r.momentum = _p(p, "momentum", 0.0)
    elif name == "prodigy":
        r.lr = _p(p, "lr", 1.0)
        b1, b2 = p.get("betas", (0.9, 0.999))
        r.beta1 = _real(b1, "betas[0]")
        r.beta2 = _real(b2, "betas[1]")
        r.beta3 = _p(p, "beta3", -1.0)
        r.eps = _p(p, "eps", 1e-8)
        r.weight_decay = _p(p, "weight_decay", 0.0)
        r.d0 = _p(p, "d0", 1e-6)
        r.d_coef = _p(p, "d_coef", 1.0)
        r.growth_rate = _p(p, "growth_rate", INFINITY)
        if p.get("use_bias_correction", False):
            r.flags |= LRC_RULE_BIAS_CORRECTION
        if p.get("safeguard_warmup", False):
            r.flags |= LRC_RULE_SAFEGUARD_WARMUP
    elif name == "schedule_free":
        r.lr = _p(p, "lr", 1.0)
        r.momentum = _p(p, "momentum", 0.9)
        r.warmup_steps = _pi(p, "warmup_steps", 0)
        r.r = _p(p, "r", 0.0)
        r.weight_lr_power = _p(p, "weight_lr_power", 2.0)
        r.weight_decay = _p(p, "weight_decay", 0.0)
    elif name == "curvature":
        r.scale = 2.0 * _p(p, "c", 0.99)      # gd's 2 c / lambda; descend rescales per method
        every = p.get("every")
        r.every = 0 if every is None else <int64_t>_index(every, "every")
        r.tol = _p(p, "tol", 1e-3)
        r.ncv = <int>_pi(p, "ncv", 16)
        r.maxmv = _pi(p, "max_matvec", 300)
        r.max_lr = _p(p, "max_lr", INFINITY)
        r.v0_mix = _p(p, "v0_mix", 1e-3)
        r.seed = <uint64_t>_pi(p, "seed", 0)
    if lrc_rule_check(r) != LRC_OK:
        raise ValueError(f"{name}: parameters out of range {p!r}")
    return 0


cdef class RuleBase:
    """C side of :class:`lrcore.adaptive.Rule`: the rule's parameter block for the C loop.

    ``RuleBase(name, params)`` builds and checks the block; lrcore.adaptive's factories
    validate the parameters first (with messages naming them), so this is the second line
    of defence.
    """
    cdef lrc_rule r
    cdef readonly str kind

    def __init__(self, str name, params):
        _fill_rule(&self.r, name, dict(params))
        self.kind = name

    @property
    def needs_machine(self):
        """True for rules only the descend loop can run (trial values or HVPs)."""
        return self.r.kind == LRC_RULE_ARMIJO or self.r.kind == LRC_RULE_CURVATURE or \
            (self.r.kind == LRC_RULE_BB and (self.r.flags & LRC_RULE_BACKTRACK) != 0)

    @property
    def changes_iterates(self):
        """True for the rules that are methods of their own (D-Adaptation, Prodigy,
        schedule-free)."""
        return self.kind in METHOD_RULES


cdef class RuleStepper:
    """A rule's state for a training loop outside the descend machine (lrcore.optim).

    ``RuleStepper(rule, x0)``; :meth:`step` updates a float64 vector in place.  Rules that
    need trial evaluations or Hessian-vector products (Armijo, Barzilai-Borwein with
    ``fallback="backtrack"``, curvature) are refused.
    """
    cdef lrc_rule_state st
    cdef cnp.ndarray work
    cdef readonly Py_ssize_t n
    cdef readonly object rule

    def __init__(self, RuleBase rule not None, x0):
        if rule.needs_machine:
            raise ValueError(f"the {rule.kind} rule needs trial evaluations or Hessian-vector "
                             f"products, which only lrcore.stability.descend makes; use it "
                             f"there" + (" (or barzilai_borwein(fallback='last'))"
                                         if rule.kind == "barzilai_borwein" else ""))
        cdef cnp.ndarray X = np.array(x0, dtype=np.float64, copy=True, order="C").ravel()
        if X.shape[0] < 1:
            raise ValueError("x0 must have at least one entry")
        if not np.all(np.isfinite(X)):
            raise ValueError("x0 has non-finite entries")
        cdef size_t lw = 0
        if lrc_rule_workspace_size(&rule.r, X.shape[0], &lw) != LRC_OK:
            raise ValueError("invalid rule")
        self.work = np.zeros(max(<size_t>1, lw), dtype=np.float64)
        self.n = X.shape[0]
        cdef int st = lrc_rule_init(&self.st, &rule.r, self.n, <const double *>cnp.PyArray_DATA(X),
                                    <double *>cnp.PyArray_DATA(self.work), max(<size_t>1, lw))
        if st != LRC_OK:
            raise _status_error(st, "RuleStepper")
        self.rule = rule

    def step(self, cnp.ndarray x not None, cnp.ndarray g not None, f=None):
        """One step: x (float64, C-contiguous, n entries; the point where g and f were
        taken) is updated in place; returns the rate used.  ``f`` is needed by Polyak's
        rule.  A non-finite g (or f for Polyak) raises NonFiniteError, nothing modified."""
        for a, nm in ((x, "x"), (g, "g")):
            if cnp.PyArray_TYPE(a) != cnp.NPY_DOUBLE or cnp.PyArray_SIZE(a) != self.n:
                raise ValueError(f"{nm} must be a float64 array of {self.n} entries")
            _check_layout(a, nm, nm == "x")
        if np.may_share_memory(x, g):
            raise ValueError("x and g share memory")
        cdef double fv = NAN
        if f is not None:
            fv = _real(f, "loss")
        elif self.st.rule.kind == LRC_RULE_POLYAK:
            raise ValueError("the polyak rule needs the loss: pass step(grads, loss=f(x))")
        cdef int st
        cdef double *xp = <double *>cnp.PyArray_DATA(x)
        cdef const double *gp = <const double *>cnp.PyArray_DATA(g)
        with nogil:
            st = lrc_rule_step(&self.st, xp, gp, fv)
        if st != LRC_OK:
            if st == LRC_NONFINITE:
                raise NonFiniteError(
                    "rule step: the gradient holds NaN or Inf" +
                    (" or the loss is not finite" if self.st.rule.kind == LRC_RULE_POLYAK else "")
                    + "; nothing was modified")
            raise _status_error(st, "rule step")
        return self.st.lr

    def eval_point(self, cnp.ndarray x not None):
        """The point to evaluate the model at (schedule-free: x = y + (1 - 1/beta)(z - y),
        the torch optimizer's ``eval()``; the iterate itself for other rules); a new
        array."""
        cdef cnp.ndarray y = np.array(x, dtype=np.float64, copy=True).ravel()
        if y.shape[0] != self.n:
            raise ValueError(f"x must have {self.n} entries")
        if self.st.rule.kind != LRC_RULE_SCHEDULE_FREE:
            return y
        cdef double w = 1.0 - 1.0 / self.st.rule.momentum, a, b
        cdef double *yp = <double *>cnp.PyArray_DATA(y)
        cdef Py_ssize_t i
        for i in range(self.n):
            a = yp[i]
            b = self.st.s[i]
            yp[i] = a + w * (b - a) if fabs(w) < 0.5 else b - (b - a) * (1.0 - w)
        return y

    @property
    def lr(self):
        """The rate of the last step (NaN before the first)."""
        return self.st.lr

    @property
    def event(self):
        """The last step's event name ('' when nothing special happened)."""
        return EVENTS[self.st.event]

    @property
    def t(self):
        """Steps taken."""
        return self.st.t

    _SCALARS = ("lr", "event", "t", "prev_lr", "theta", "gsum", "rbar", "d", "d_max",
                "numerator", "g0norm", "weight_sum", "lr_max")

    def __reduce__(self):
        # the C state holds pointers into the workspace: pickle the rule and get_state()
        return (_rule_stepper_from_state, (self.rule, self.n, self.get_state()))

    def get_state(self):
        """The state as a dict of numbers and one array (for state_dict)."""
        cdef lrc_rule_state *s = &self.st
        return {"lr": s.lr, "event": s.event, "t": s.t, "prev_lr": s.prev_lr,
                "theta": s.theta, "gsum": s.gsum, "rbar": s.rbar, "d": s.d,
                "d_max": s.d_max, "numerator": s.numerator, "g0norm": s.g0norm,
                "weight_sum": s.weight_sum, "lr_max": s.lr_max, "work": self.work.copy()}

    #: scalars that are finite and >= 0 in every reachable state
    _NONNEG = ("prev_lr", "gsum", "rbar", "d", "d_max", "g0norm", "weight_sum")

    def set_state(self, d):
        """Restore :meth:`get_state` output (checked before anything changes: the keys,
        the workspace's shape and finiteness, and each scalar against the values a run can
        reach -- a NaN, a negative sum of squares or a D-Adaptation/Prodigy ``d <= 0`` is
        refused, as they would silently poison every later step)."""
        if not isinstance(d, dict) or set(d) != set(self._SCALARS) | {"work"}:
            raise ValueError(f"rule state must be a dict with keys "
                             f"{sorted(set(self._SCALARS) | {'work'})}")
        w = np.asarray(d["work"])
        if w.dtype.kind not in "biuf":
            raise TypeError(f"rule state 'work' must hold real numbers, got dtype {w.dtype}")
        w = w.astype(np.float64)
        if w.shape != (<object>self.work).shape:
            raise ValueError(f"rule state 'work' has shape {w.shape}, expected "
                             f"{(<object>self.work).shape}")
        if not np.all(np.isfinite(w)):
            raise ValueError("rule state 'work' holds NaN or Inf")
        vals = {k: d[k] for k in self._SCALARS}
        t = _index(vals["t"], "t")
        ev = _index(vals["event"], "event")
        if t < 0 or not (0 <= ev < len(EVENTS)):
            raise ValueError("rule state: t must be >= 0 and event a known code")
        fl = {k: _real(vals[k], k) for k in self._SCALARS if k not in ("t", "event")}
        for k in self._NONNEG:
            if not (isfinite(fl[k]) and fl[k] >= 0.0):
                raise ValueError(f"rule state {k!r} must be a finite number >= 0, got {fl[k]!r}")
        if not isfinite(fl["numerator"]):
            raise ValueError(f"rule state 'numerator' must be finite, got {fl['numerator']!r}")
        if not fl["theta"] >= 0.0:                    # +inf is AdGD's start; NaN is refused
            raise ValueError(f"rule state 'theta' must be >= 0, got {fl['theta']!r}")
        if not ((t == 0 and isnan(fl["lr"])) or (isfinite(fl["lr"]) and fl["lr"] >= 0.0)):
            raise ValueError(f"rule state 'lr' must be a finite number >= 0 (NaN only before "
                             f"the first step), got {fl['lr']!r}")
        if not (fl["lr_max"] == -1.0 or (isfinite(fl["lr_max"]) and fl["lr_max"] >= 0.0)):
            raise ValueError(f"rule state 'lr_max' must be -1 or a finite number >= 0, got "
                             f"{fl['lr_max']!r}")
        if self.st.rule.kind in (LRC_RULE_DADAPT_SGD, LRC_RULE_PRODIGY) and not fl["d"] > 0.0:
            raise ValueError(f"rule state 'd' (the distance estimate) must be > 0, got "
                             f"{fl['d']!r}")
        cdef lrc_rule_state *s = &self.st
        (<object>self.work)[...] = w
        s.t = t
        s.event = <int>ev
        s.lr, s.prev_lr, s.theta, s.gsum = fl["lr"], fl["prev_lr"], fl["theta"], fl["gsum"]
        s.rbar, s.d, s.d_max, s.numerator = fl["rbar"], fl["d"], fl["d_max"], fl["numerator"]
        s.g0norm, s.weight_sum, s.lr_max = fl["g0norm"], fl["weight_sum"], fl["lr_max"]


def _rule_stepper_from_state(rule, n, state):
    """Unpickle a RuleStepper: a fresh one for ``rule`` and ``n`` entries, then its state."""
    s = RuleStepper(rule, np.zeros(_index(n, "n")))
    s.set_state(state)
    return s


# ---- one run ----------------------------------------------------------------------------

cdef class _DescendRun:
    """One run of the C descend machine: its state, a private copy of x0 (the iterate),
    the rates, the records, the workspace and, with a step-size rule, the rule's state and
    workspace.  Everything is validated by setup() before the machine is initialised."""
    cdef lrc_descend s
    cdef lrc_rule_state rs
    cdef lrc_descend_trace tr
    cdef cnp.ndarray X, L, losses, gnorms, work, rwork, rates, lambdas, nevals, nhvps, events
    cdef Py_ssize_t n
    cdef bint has_rule

    cdef int setup(self, object x0, Py_ssize_t dim, object lrs, object steps, object method,
                   object momentum, object beta2, object eps, object tol, object blowup,
                   object record_every, object rule=None, object overrides=None) except -1:
        """dim < 0: take the size from x0.  rule: a RuleBase (lrs is then ignored);
        overrides: {"scale": ..., "every": ...} applied to the rule's block for this run."""
        cdef Py_ssize_t k = _index(steps, "steps")
        if k < 0:
            raise ValueError(f"steps must be >= 0, got {k}")
        cdef Py_ssize_t r = _index(record_every, "record_every")
        if r < 1:
            raise ValueError(f"record_every must be >= 1, got {r}")
        if not isinstance(method, str) or method not in _METHODS:
            raise ValueError(f"method must be one of {tuple(_METHODS)}, got {method!r}")
        cdef lrc_run_opts o
        o.method = _METHODS[method]
        o.momentum = _unit(momentum, "momentum")
        o.beta2 = _unit(beta2, "beta2")
        o.eps = _positive(eps, "eps")
        o.tol = _nonneg(tol, "tol")
        o.blowup = _real(blowup, "blowup")
        if not (o.blowup >= 0.0):
            raise ValueError(f"blowup must be >= 0 (0 turns the bound off), got {o.blowup!r}")
        o.record_every = r
        cdef lrc_rule rb
        if rule is not None:
            if not isinstance(rule, RuleBase):
                raise TypeError(f"rule must be a step-size rule of lrcore.adaptive, got "
                                f"{type(rule).__name__}")
            rb = (<RuleBase>rule).r
            if overrides:
                for key, val in dict(overrides).items():
                    if key == "scale":
                        rb.scale = _positive(val, "scale")
                    elif key == "every":
                        rb.every = _index(val, "every")
                    else:
                        raise ValueError(f"unknown rule override {key!r}")
                if lrc_rule_check(&rb) != LRC_OK:
                    raise ValueError(f"rule overrides out of range: {overrides!r}")
            kind = (<RuleBase>rule).kind
            if kind == "curvature":
                if method == "adam":
                    raise ValueError("the curvature rule sets the rate of gd, heavy_ball or "
                                     "nesterov (Adam's stable rate depends on its "
                                     "preconditioner); use method='gd', 'heavy_ball' or "
                                     "'nesterov'")
            elif method != "gd":
                raise ValueError(f"the {kind} rule " +
                                 ("is a method of its own" if kind in METHOD_RULES else
                                  "sets the rate of plain gradient descent") +
                                 f"; use method='gd' (got {method!r})")
        try:
            X = np.array(x0, dtype=np.float64, copy=True, order="C")
        except (TypeError, ValueError):
            raise TypeError(f"x0 must be a 1-D array of real numbers, got "
                            f"{type(x0).__name__}") from None
        if X.ndim != 1 or (dim >= 0 and X.shape[0] != dim):
            want = f"({dim},)" if dim >= 0 else "(n,)"
            raise ValueError(f"x0 must have shape {want}, got {np.shape(x0)}")
        if not np.all(np.isfinite(X)):
            raise ValueError("x0 has non-finite entries")
        if rule is not None and X.shape[0] < 1:
            raise ValueError("x0 must have at least one entry to run a step-size rule")
        cdef cnp.ndarray L
        if k > 0 and rule is None:
            try:
                L = np.ascontiguousarray(lrs, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"lrs must be an array of {k} real numbers (one rate per "
                                f"step), got {type(lrs).__name__}") from None
            if L.ndim != 1 or L.shape[0] != k:
                raise ValueError(f"lrs must have shape ({k},) (one rate per step), got "
                                 f"{np.shape(lrs)}")
            bad = ~(np.isfinite(L) & (L >= 0))
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(f"lrs[{i}] = {L[i]!r}; rates must be finite and >= 0")
        else:
            L = np.zeros(1, dtype=np.float64)    # not read (no step, or a rule)
        self.n = X.shape[0]
        cdef size_t lw = 0, lrw = 0
        if lrc_descend_workspace_size(self.n, o.method, &lw) != LRC_OK:
            raise ValueError(f"x0 is too large ({self.n} entries)")
        if rule is not None and lrc_rule_workspace_size(&rb, self.n, &lrw) != LRC_OK:
            raise ValueError(f"x0 is too large ({self.n} entries)")
        cdef Py_ssize_t nrec = k // r + 1
        self.X = X
        self.L = L
        self.losses = np.empty(nrec, dtype=np.float64)
        self.gnorms = np.empty(nrec, dtype=np.float64)
        self.rates = np.empty(nrec, dtype=np.float64)
        self.lambdas = np.empty(nrec, dtype=np.float64)
        self.nevals = np.empty(nrec, dtype=np.int64)
        self.nhvps = np.empty(nrec, dtype=np.int64)
        self.events = np.empty(nrec, dtype=np.int32)
        self.work = np.empty(max(<size_t>1, lw), dtype=np.float64)
        self.rwork = np.zeros(max(<size_t>1, lrw), dtype=np.float64)
        cdef int st = lrc_descend_init(&self.s, <double *>cnp.PyArray_DATA(self.X), self.n,
                                       <const double *>cnp.PyArray_DATA(self.L), k, &o,
                                       <double *>cnp.PyArray_DATA(self.work), max(<size_t>1, lw),
                                       <double *>cnp.PyArray_DATA(self.losses),
                                       <double *>cnp.PyArray_DATA(self.gnorms))
        if st != LRC_OK:
            raise _status_error(st, "descend")
        self.has_rule = rule is not None
        if self.has_rule:
            st = lrc_rule_init(&self.rs, &rb, self.n, <const double *>cnp.PyArray_DATA(self.X),
                               <double *>cnp.PyArray_DATA(self.rwork), max(<size_t>1, lrw))
            if st != LRC_OK:
                raise _status_error(st, "descend (rule)")
        self.tr.rates = <double *>cnp.PyArray_DATA(self.rates)
        self.tr.lambdas = <double *>cnp.PyArray_DATA(self.lambdas)
        self.tr.n_evals = <int64_t *>cnp.PyArray_DATA(self.nevals)
        self.tr.n_hvps = <int64_t *>cnp.PyArray_DATA(self.nhvps)
        self.tr.events = <int32_t *>cnp.PyArray_DATA(self.events)
        st = lrc_descend_set_rule(&self.s, &self.rs if self.has_rule else NULL, &self.tr)
        if st != LRC_OK:
            raise _status_error(st, "descend (rule)")
        return 0

    cdef tuple result(self, int st, str where, bint trace=False):
        if st != LRC_OK:
            # the machine ends with LRC_OK whatever the outcome; anything else is an
            # objective's failure code or an internal error
            raise _status_error(st, where)
        out = (self.X, self.losses, self.gnorms, int(self.s.steps_run), self.s.loss,
               self.s.gnorm, _OUTCOMES[self.s.outcome])
        if not trace:
            return out
        extra = {"rates": self.rates, "lambdas": self.lambdas, "n_evals": self.nevals,
                 "n_hvps": self.nhvps, "events": self.events,
                 "reason": _REASONS[self.s.reason], "total_evals": int(self.s.n_evals),
                 "total_grads": int(self.s.n_grads), "total_hvps": int(self.s.n_hvps)}
        return out + (extra,)


cdef double _take_value(object out, int64_t k) except? -1.0:
    """The loss of the user's (f, grad) answer to a trial evaluation (the gradient is not
    used, nor converted)."""
    if type(out) is tuple and len(<tuple>out) == 2:
        fo = (<tuple>out)[0]
    else:
        try:
            fo, _ = out
        except (TypeError, ValueError):
            raise TypeError(f"value_and_grad(x) must return a pair (f, g); got "
                            f"{type(out).__name__} at evaluation {k}") from None
    if PyFloat_Check(fo):
        return PyFloat_AS_DOUBLE(fo)
    if isinstance(fo, np.ndarray) and (<cnp.ndarray>fo).ndim != 0:
        raise TypeError(f"value_and_grad(x) returned a loss f of shape {fo.shape} at "
                        f"evaluation {k}; expected a real scalar")
    try:
        return _real(fo, "f")
    except TypeError:
        raise TypeError(f"value_and_grad(x) returned a loss f of type {type(fo).__name__} "
                        f"at evaluation {k}; expected a real number") from None


cdef int _take_hvp(object out, double *hv, Py_ssize_t n, int64_t k) except -1:
    """Copy the user's H v (shape (n,), real) into hv; returns the answer's status."""
    try:
        a = np.asarray(out)
    except (TypeError, ValueError) as e:
        raise TypeError(f"hvp(x, v) returned something that is not a numeric array at "
                        f"product {k} ({e})") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"hvp(x, v) returned dtype {a.dtype} at product {k}; expected real "
                        f"numbers")
    if a.shape != (n,):
        raise ValueError(f"hvp(x, v) returned shape {a.shape} at product {k}; expected "
                         f"({n},)")
    cdef cnp.ndarray c = np.ascontiguousarray(a, dtype=np.float64)
    memcpy(hv, cnp.PyArray_DATA(c), n * sizeof(double))
    return LRC_OK if c_all_finite_f64(hv, n, 1) == LRC_OK else LRC_NONFINITE


cdef double _take_answer(object out, double *g, Py_ssize_t n, int64_t k) except? -1.0:
    """Check the user's (f, grad) for evaluation k and copy the gradient to g."""
    if type(out) is tuple and len(<tuple>out) == 2:
        fo, go = <tuple>out
    else:
        try:
            fo, go = out
        except (TypeError, ValueError):
            raise TypeError(f"value_and_grad(x) must return a pair (f, g); got "
                            f"{type(out).__name__} at evaluation {k}") from None
    cdef double f
    if PyFloat_Check(fo):
        f = PyFloat_AS_DOUBLE(fo)
    else:
        if isinstance(fo, np.ndarray) and (<cnp.ndarray>fo).ndim != 0:
            raise TypeError(f"value_and_grad(x) returned a loss f of shape {fo.shape} at "
                            f"evaluation {k}; expected a real scalar")
        try:
            f = _real(fo, "f")
        except TypeError:
            raise TypeError(f"value_and_grad(x) returned a loss f of type "
                            f"{type(fo).__name__} at evaluation {k}; expected a real "
                            f"number") from None
    cdef cnp.ndarray ga
    if not (cnp.PyArray_CheckExact(go) and cnp.PyArray_TYPE(<cnp.ndarray>go) == cnp.NPY_DOUBLE
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>go)
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>go)):
        try:
            ga = np.asarray(go)
        except (TypeError, ValueError) as e:
            raise TypeError(f"value_and_grad(x) returned a gradient that is not a numeric "
                            f"array at evaluation {k} ({e})") from None
        if ga.dtype.kind not in "biuf":
            raise TypeError(f"value_and_grad(x) returned a gradient of dtype {ga.dtype} at "
                            f"evaluation {k}; expected real numbers")
        if ga.ndim != 1 or ga.shape[0] != n:
            raise ValueError(f"value_and_grad(x) returned a gradient of shape {(<object>ga).shape} at "
                             f"evaluation {k}; expected ({n},), the shape of x")
        ga = np.ascontiguousarray(ga, dtype=np.float64)
    else:
        ga = <cnp.ndarray>go
        if ga.ndim != 1 or ga.shape[0] != n:
            raise ValueError(f"value_and_grad(x) returned a gradient of shape {(<object>ga).shape} at "
                             f"evaluation {k}; expected ({n},), the shape of x")
    if n > 0:
        memcpy(g, cnp.PyArray_DATA(ga), n * sizeof(double))
    return f


def descend_callable(value_and_grad, x0, lrs, steps, method, momentum, beta2, eps, tol,
                     blowup, record_every, rule=None, overrides=None, hvp=None, trace=False):
    """Run the C descend loop on a Python objective ``value_and_grad(x) -> (f, g)``.

    The same reverse-communication machine as :meth:`CProblem.descend` (so the same
    arithmetic, stops and records): the machine asks for f and grad f (and, for a
    step-size rule, for f alone at line-search trials or for Hessian-vector products),
    this function calls ``value_and_grad`` (or ``hvp``) and hands the answer back.
    Package-internal API (used by :func:`lrcore.stability.descend` for problems made from
    Python functions).

    Parameters
    ----------
    value_and_grad : callable
        ``value_and_grad(x) -> (f, g)``: a real scalar f and a gradient of shape ``(n,)``
        (any real dtype; converted to float64).  ``x`` is a fresh float64 array of shape
        ``(n,)`` on every call -- a copy of the iterate, so keeping it or writing to it is
        safe and has no effect on the run.  The objective is never called at a non-finite
        point: a step that overflows x ends the run as ``"diverged"`` with a NaN loss (a
        line-search trial there is rejected).  For a trial only f is used.
    x0 : array_like, shape (n,)
        Starting point, finite (copied; never modified).
    lrs : array_like, shape (steps,)
        The rate of each step, finite and >= 0 (not read when ``rule`` is given).
    steps : int
        Optimizer steps (>= 0).
    method : {"gd", "heavy_ball", "nesterov", "adam"}
    momentum : float
        Heavy ball / Nesterov beta or Adam's beta1, in [0, 1).
    beta2, eps : float
        Adam's second-moment decay in [0, 1) and denominator guard (> 0).
    tol : float
        Stop as ``"converged"`` once ||g|| <= tol (0: never).
    blowup : float
        Stop as ``"diverged"`` once f - f(x0) > blowup max(|f(x0)|, 1) (0: never).
    record_every : int
        Record f and ||g|| at iterates 0, r, 2r, ... (r >= 1).
    rule : RuleBase, optional
        A step-size rule of :mod:`lrcore.adaptive` (the rates ``lrs`` are then unused).
    overrides : dict, optional
        ``{"scale": s, "every": k}`` for this run of a curvature rule.
    hvp : callable, optional
        ``hvp(x, v) -> H(x) v`` (fresh float64 copies), needed by the curvature rule.
    trace : bool
        Also return the per-step records (below).

    Returns
    -------
    tuple
        ``(x, losses, gnorms, steps_run, final_loss, final_gnorm, outcome)`` exactly as
        :meth:`CProblem.descend`: the last iterate (a new array), the records (length
        ``steps // record_every + 1``, NaN where nothing was recorded), the number of
        steps taken, f and ||g|| at the last evaluated iterate, and ``"completed"``,
        ``"converged"``, ``"diverged"`` or ``"stopped"`` (a rule could not go on); with
        ``trace=True`` an eighth item, a dict of the per-record ``rates``, ``lambdas``,
        ``n_evals``, ``n_hvps`` (cumulative counts), ``events`` (codes into ``EVENTS``),
        the stop ``reason`` and the ``total_evals``, ``total_grads``, ``total_hvps``.

    Raises
    ------
    TypeError, ValueError
        Invalid arguments, or an answer of ``value_and_grad`` (or ``hvp``) that is not a
        pair of a real scalar and a real array of shape ``(n,)`` (the message names what
        was wrong and the evaluation's index).
    Exception
        Whatever ``value_and_grad`` raises propagates unchanged; ``KeyboardInterrupt``
        (checked after every call) too.  Nothing is returned then and ``x0`` is untouched.

    Examples
    --------
    >>> import numpy as np
    >>> from lrcore import _core
    >>> x, losses, gnorms, run, f, g, outcome = _core.descend_callable(
    ...     lambda x: (0.5 * x @ x, x), np.ones(2), np.full(10, 0.5), 10, "gd",
    ...     0.0, 0.999, 1e-8, 0.0, 1e10, 1)
    >>> x, run, outcome
    (array([0.00097656, 0.00097656]), 10, 'completed')
    """
    if not callable(value_and_grad):
        raise TypeError(f"value_and_grad must be callable as value_and_grad(x) -> (f, g), "
                        f"got {type(value_and_grad).__name__}")
    if hvp is not None and not callable(hvp):
        raise TypeError(f"hvp must be callable as hvp(x, v) -> H v, got {type(hvp).__name__}")
    if isinstance(rule, RuleBase) and (<RuleBase>rule).kind == "curvature" and hvp is None:
        raise ValueError("the curvature rule needs Hessian-vector products: pass hvp")
    cdef _DescendRun run = _DescendRun()
    run.setup(x0, -1, lrs, steps, method, momentum, beta2, eps, tol, blowup, record_every,
              rule, overrides)
    cdef lrc_descend *s = &run.s
    cdef Py_ssize_t n = run.n, i
    cdef bint release = n >= _DESCEND_NOGIL_N
    cdef cnp.npy_intp dims[1]
    dims[0] = n
    cdef cnp.ndarray xin, vin
    cdef int st
    while True:
        if release:
            with nogil:
                st = lrc_descend_iterate(s)
        else:
            st = lrc_descend_iterate(s)
        if st == LRC_REQ_HVP:
            xin = cnp.PyArray_SimpleNew(1, dims, cnp.NPY_DOUBLE)
            vin = cnp.PyArray_SimpleNew(1, dims, cnp.NPY_DOUBLE)
            memcpy(cnp.PyArray_DATA(xin), s.x, n * sizeof(double))
            memcpy(cnp.PyArray_DATA(vin), s.v, n * sizeof(double))
            s.status = _take_hvp(hvp(xin, vin), s.hv, n, s.n_hvps - 1)
            PyErr_CheckSignals()
            continue
        if st != LRC_REQ_VALUE_GRAD and st != LRC_REQ_VALUE:
            break
        if n > 0 and c_all_finite_f64(s.x, n, 1) != LRC_OK:
            # a step overflowed x: do not call the objective there; the run ends diverged
            # (a line-search trial there is rejected)
            s.f = NAN
            if st == LRC_REQ_VALUE_GRAD:
                for i in range(n):
                    s.g[i] = NAN
            s.status = LRC_NONFINITE
            continue
        xin = cnp.PyArray_SimpleNew(1, dims, cnp.NPY_DOUBLE)
        if n > 0:
            memcpy(cnp.PyArray_DATA(xin), s.x, n * sizeof(double))
        out = value_and_grad(xin)
        if st == LRC_REQ_VALUE:
            s.f = _take_value(out, s.n_evals - 1)
        else:
            s.f = _take_answer(out, s.g, n, s.n_evals - 1)
        PyErr_CheckSignals()
    return run.result(st, "descend_callable", trace)


cdef int _drive_problem(const lrc_problem *q, lrc_descend *s, double budget) noexcept nogil:
    """Answer every request of the machine with the problem's C kernels until the run
    ends or ``budget`` seconds have passed (LRC_PAUSED: call again)."""
    cdef lrci_pacer pc
    lrci_pacer_start(&pc, budget)
    cdef int st
    while True:
        st = lrc_problem_descend(q, s, budget)    # answers value-and-gradient requests
        if st == LRC_REQ_VALUE:
            s.f = lrc_problem_value(q, s.x, &s.status)
        elif st == LRC_REQ_HVP:
            s.status = lrc_problem_hvp(q, s.x, s.v, s.hv)
        else:
            return st                              # final, or LRC_PAUSED
        if lrci_pacer_due(&pc):
            return LRC_PAUSED


cdef tuple _descend_problem(const lrc_problem *q, Py_ssize_t dim, object x0, object lrs,
                            object steps, object method, object momentum, object beta2,
                            object eps, object tol, object blowup, object record_every,
                            object rule=None, object overrides=None, bint trace=False):
    """The run of CProblem.descend: the machine driven by the problem's C kernels
    (value and gradient, values at line-search trials, Hessian-vector products) without
    the GIL, pausing every _PAUSE_SECONDS for signals (Ctrl-C raises KeyboardInterrupt;
    x0 is never modified)."""
    cdef _DescendRun run = _DescendRun()
    run.setup(x0, dim, lrs, steps, method, momentum, beta2, eps, tol, blowup, record_every,
              rule, overrides)
    cdef int st
    while True:
        with nogil:
            st = _drive_problem(q, &run.s, _PAUSE_SECONDS)
        if st != LRC_PAUSED:
            break
        PyErr_CheckSignals()     # KeyboardInterrupt: the run (on a copy) is dropped
    return run.result(st, "descend", trace)
