"""Loss functions written from their definitions: likelihoods, robust regression, margins, focal loss,
label smoothing and distillation."""
import math

import torch
import torch.nn.functional as F

from snippets._validate import check_number, check_positive_int, check_same_shape, check_tensor
from snippets.softmax import _check_target


def _check_unit_interval(y, name):
    if ((y < 0) | (y > 1)).any():
        raise ValueError(f"{name} must lie in [0, 1]")


# --8<-- [start:likelihoods]
def gaussian_nll(mu, y, sigma):
    """Mean of -log N(y; mu, sigma^2) = (y - mu)^2 / (2 sigma^2) + log sigma + log(2 pi) / 2."""
    check_tensor(mu, "mu")
    check_tensor(y, "y")
    check_same_shape(mu, "mu", y, "y")
    check_number(sigma, "sigma", low=0, low_open=True)
    return ((y - mu) ** 2 / (2 * sigma**2)).mean() + math.log(sigma) + 0.5 * math.log(2 * math.pi)


def laplace_nll(mu, y, b):
    """Mean of -log Laplace(y; mu, b) = |y - mu| / b + log(2 b): the likelihood behind the absolute error."""
    check_tensor(mu, "mu")
    check_tensor(y, "y")
    check_same_shape(mu, "mu", y, "y")
    check_number(b, "b", low=0, low_open=True)
    return ((y - mu).abs() / b).mean() + math.log(2 * b)
# --8<-- [end:likelihoods]


# --8<-- [start:bernoulli]
def bernoulli_nll(logits, y):
    """Mean of -log Bernoulli(y; sigma(z)) = binary cross-entropy, from the logit z, never forming sigma(z)."""
    check_tensor(logits, "logits")
    check_tensor(y, "y")
    check_same_shape(logits, "logits", y, "y")
    _check_unit_interval(y, "y")
    return _bce_with_logits(logits, y).mean()


def _bce_with_logits(z, y):
    # log(1 - sigma(z)) = log sigma(-z): both terms stay accurate and finite for any z. (The algebraically equal
    # max(z, 0) - y z + log(1 + e^{-|z|}) gets a wrong autograd gradient at z = 0, where its kinks meet.)
    return -(y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z))
# --8<-- [end:bernoulli]


# --8<-- [start:huber]
def huber_loss(residual, delta):
    """r^2 / 2 for |r| <= delta, delta (|r| - delta / 2) beyond (Huber 1964): quadratic near 0, linear in the tails."""
    check_tensor(residual, "residual")
    check_number(delta, "delta", low=0, low_open=True)
    a = residual.abs()
    return torch.where(a <= delta, 0.5 * a**2, delta * (a - 0.5 * delta))
# --8<-- [end:huber]


# --8<-- [start:margins]
def zero_one_loss(margin):
    """1 if the margin y f(x) (labels y = +-1) is <= 0, i.e. a misclassification, else 0."""
    check_tensor(margin, "margin")
    return (margin <= 0).to(margin.dtype)


def hinge_loss(margin):
    """max(0, 1 - y f(x)): zero once the example is beyond the margin y f(x) >= 1 (the SVM loss)."""
    check_tensor(margin, "margin")
    return torch.clamp(1 - margin, min=0)


def logistic_loss(margin):
    """log(1 + e^{-y f(x)}), the binary cross-entropy written in the margin; never exactly 0 in exact arithmetic."""
    check_tensor(margin, "margin")
    return -F.logsigmoid(margin)
# --8<-- [end:margins]


# --8<-- [start:multiclass-hinge]
def multiclass_hinge(scores, target, margin=1.0):
    """Mean over the batch of sum_{j != y} max(0, margin - s_y + s_j) (Weston & Watkins 1999)."""
    check_tensor(scores, "scores", ndim=2)
    _check_target(scores, target)
    check_number(margin, "margin", low=0)
    s_y = scores.gather(1, target.unsqueeze(1))
    violation = torch.clamp(margin - s_y + scores, min=0)
    violation = violation.scatter(1, target.unsqueeze(1), 0.0)  # the true class is not compared with itself
    return violation.sum(dim=1).mean()
# --8<-- [end:multiclass-hinge]


# --8<-- [start:focal]
def sigmoid_focal_loss(logits, y, gamma=2.0, alpha=0.25):
    """Mean of -alpha_t (1 - p_t)^gamma log p_t with p_t = sigma(z) for y = 1, 1 - sigma(z) for y = 0
    (Lin et al. 2017, eq. 5); alpha weighs the positives, 1 - alpha the negatives; alpha=None: no weight."""
    check_tensor(logits, "logits")
    check_tensor(y, "y")
    check_same_shape(logits, "logits", y, "y")
    _check_unit_interval(y, "y")
    check_number(gamma, "gamma", low=0)
    ce = _bce_with_logits(logits, y)  # -log p_t per element
    one_minus_pt = -torch.expm1(-ce)  # 1 - e^{-ce}, accurate when p_t is close to 1
    loss = one_minus_pt**gamma * ce
    if alpha is not None:
        check_number(alpha, "alpha", low=0, high=1)
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return loss.mean()


def softmax_focal_loss(logits, target, gamma=2.0, alpha=None):
    """Mean over the batch of -alpha_y (1 - p_y)^gamma log p_y with p = softmax(logits); alpha: one weight per class."""
    check_tensor(logits, "logits", ndim=2)
    _check_target(logits, target)
    check_number(gamma, "gamma", low=0)
    log_p = torch.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
    one_minus_p = -torch.expm1(log_p)  # 1 - p_y without cancellation when p_y is close to 1
    loss = one_minus_p**gamma * -log_p
    if alpha is not None:
        check_tensor(alpha, "alpha", ndim=1)
        if alpha.shape[0] != logits.shape[1]:
            raise ValueError(f"alpha must hold one weight per class ({logits.shape[1]}), got {alpha.shape[0]}")
        loss = alpha[target] * loss
    return loss.mean()
# --8<-- [end:focal]


# --8<-- [start:label-smoothing]
def label_smoothed_cross_entropy(logits, target, eps):
    """Mean of H(p_eps, softmax(z)), p_eps = (1 - eps) one_hot(y) + eps / K (Szegedy et al. 2016, §7)."""
    check_tensor(logits, "logits", ndim=2)
    _check_target(logits, target)
    check_number(eps, "eps", low=0, high=1)
    log_p = torch.log_softmax(logits, dim=1)
    nll = -log_p.gather(1, target.unsqueeze(1)).squeeze(1)  # the one-hot part
    uniform = -log_p.mean(dim=1)                             # the eps / K part, summed over the K classes
    return ((1 - eps) * nll + eps * uniform).mean()


def smoothed_optimal_logit_gap(num_classes, eps):
    """The gap z_y - z_j (j != y) at the minimum of the smoothed loss: log((1 - eps + eps/K) / (eps/K)).
    Without smoothing (eps = 0) there is no minimum: the loss falls as the gap grows, so it returns inf."""
    check_positive_int(num_classes, "num_classes")
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    check_number(eps, "eps", low=0, high=1)
    if eps == 0:
        return math.inf
    return math.log((1 - eps + eps / num_classes) / (eps / num_classes))
# --8<-- [end:label-smoothing]


# --8<-- [start:distillation]
def distillation_loss(student_logits, teacher_logits, temperature):
    """T^2 KL(softmax(t / T) || softmax(s / T)), mean over the batch (Hinton, Vinyals & Dean 2015, §2).
    The T^2 undoes the 1/T^2 by which the soft targets' gradients shrink, so T can change without retuning."""
    check_tensor(student_logits, "student_logits", ndim=2)
    check_tensor(teacher_logits, "teacher_logits", ndim=2)
    check_same_shape(student_logits, "student_logits", teacher_logits, "teacher_logits")
    check_number(temperature, "temperature", low=0, low_open=True)
    log_q = torch.log_softmax(student_logits / temperature, dim=1)
    log_p = torch.log_softmax(teacher_logits / temperature, dim=1)
    kl = (log_p.exp() * (log_p - log_q)).sum(dim=1)
    return temperature**2 * kl.mean()
# --8<-- [end:distillation]
