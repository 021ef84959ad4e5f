"""Plain-numpy twins of lrcore's fused update kernels (the "slow" reference).

Written from the papers' textbook formulas, not from lrcore's C code: Adam is bias-corrected
the textbook way (m_hat, v_hat), momentum follows PyTorch's documented algorithm box, and
every step works on float64 copies, so the comparison is independent of the kernels'
operation order.  Each function returns new arrays and never mutates its inputs.
"""
import numpy as np


def _f64(*arrays):
    return [None if a is None else np.asarray(a, dtype=np.float64).copy() for a in arrays]


def sgd(x, g, lr, weight_decay=0.0, maximize=False):
    x, g = _f64(x, g)
    if maximize:
        g = -g
    return x - lr * (g + weight_decay * x)


def momentum(x, g, buf, lr, mu, nesterov=False, dampening=0.0, weight_decay=0.0,
             first_step=False, maximize=False):
    x, g, buf = _f64(x, g, buf)
    if maximize:
        g = -g
    d = g + weight_decay * x
    buf = d.copy() if first_step else mu * buf + (1.0 - dampening) * d
    upd = d + mu * buf if nesterov else buf
    return x - lr * upd, buf


def adam(x, g, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
         decoupled=False, amsgrad=False, vmax=None, maximize=False):
    x, g, m, v, vmax = _f64(x, g, m, v, vmax)
    if maximize:
        g = -g
    if decoupled:
        x = x * (1.0 - lr * weight_decay)
    else:
        g = g + weight_decay * x
    m = beta1 * m + (1.0 - beta1) * g
    v = beta2 * v + (1.0 - beta2) * g * g
    m_hat = m / (1.0 - beta1 ** step)
    if amsgrad:
        vmax = np.maximum(vmax, v)
        v_hat = vmax / (1.0 - beta2 ** step)
    else:
        v_hat = v / (1.0 - beta2 ** step)
    x = x - lr * m_hat / (np.sqrt(v_hat) + eps)
    return x, m, v, vmax


def rmsprop(x, g, sq, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
            centered=False, grad_avg=None, buf=None, maximize=False):
    x, g, sq, grad_avg, buf = _f64(x, g, sq, grad_avg, buf)
    if maximize:
        g = -g
    g = g + weight_decay * x
    sq = alpha * sq + (1.0 - alpha) * g * g
    if centered:
        grad_avg = alpha * grad_avg + (1.0 - alpha) * g
        avg = np.sqrt(sq - grad_avg ** 2) + eps
    else:
        avg = np.sqrt(sq) + eps
    if momentum > 0:
        buf = momentum * buf + g / avg
        x = x - lr * buf
    else:
        x = x - lr * g / avg
    return x, sq, grad_avg, buf


def adagrad(x, g, s, step, lr, lr_decay=0.0, eps=1e-10, weight_decay=0.0, maximize=False):
    x, g, s = _f64(x, g, s)
    if maximize:
        g = -g
    g = g + weight_decay * x
    clr = lr / (1.0 + (step - 1) * lr_decay)
    s = s + g * g
    return x - clr * g / (np.sqrt(s) + eps), s
