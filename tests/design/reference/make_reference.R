# Reference values for tests/design, computed with base R only (BOIN and dfcrm cannot be
# installed here: CRAN is not reachable). Each block re-implements, independently of the
# Python code, a published formula:
#   * BOIN boundaries: Liu & Yuan (2015) closed-form lambda_e / lambda_d, integer
#     boundaries as in the BOIN package's get.boundary (escalate y <= floor(lambda_e n),
#     de-escalate y >= floor(lambda_d n) + 1), elimination P(p > target | Beta(y+1, n-y+1)) > 0.95, n >= 3.
#   * CRM posterior: dfcrm's documented model (empiric p = s^exp(b), logistic
#     p = expit(3 + exp(b) (logit(s) - 3)), b ~ N(0, 1.34)), posterior mean by integrate()
#     over (-Inf, Inf), plug-in estimates, closest level to the target.
#   * getprior: Lee & Cheung (2009) indifference-interval construction.
#   * MTD selection: weighted PAVA of (y + 0.05)/(n + 0.1), weights 1/var, closest to target
#     with BOIN's tie rule, on random data sets.
# Run from the repository root:  Rscript tests/design/reference/make_reference.R
out <- "tests/design/reference"
header <- function(con, call) {
  writeLines(c(paste("#", R.version.string), paste("# call:", call)), con)
}

## BOIN boundaries -------------------------------------------------------------------
rows <- list()
for (phi in c(0.2, 0.25, 0.3)) {
  phi1 <- 0.6 * phi; phi2 <- 1.4 * phi
  le <- log((1 - phi1) / (1 - phi)) / log(phi * (1 - phi1) / (phi1 * (1 - phi)))
  ld <- log((1 - phi) / (1 - phi2)) / log(phi2 * (1 - phi) / (phi * (1 - phi2)))
  for (n in 1:30) {
    el <- NA
    if (n >= 3) for (y in 1:n) if (1 - pbeta(phi, y + 1, n - y + 1) > 0.95) { el <- y; break }
    rows[[length(rows) + 1]] <- data.frame(target = phi, n = n, lambda_e = le, lambda_d = ld,
      escalate_if_at_most = floor(le * n), deescalate_if_at_least = floor(ld * n) + 1,
      eliminate_if_at_least = el)
  }
}
con <- file(file.path(out, "boin_boundaries.csv"), "w")
header(con, "closed-form lambda_e/lambda_d and pbeta elimination for target 0.2, 0.25, 0.3; n = 1..30")
write.csv(do.call(rbind, rows), con, row.names = FALSE, na = "")
close(con)

## CRM posterior ----------------------------------------------------------------------
crm_fit <- function(prior, target, y, level, model, intcpt = 3, scale = sqrt(1.34)) {
  if (model == "empiric") {
    p <- function(b, k) prior[k]^exp(b)
  } else {
    x <- log(prior / (1 - prior)) - intcpt
    p <- function(b, k) 1 / (1 + exp(-intcpt - exp(b) * x[k]))
  }
  lik <- function(b) sapply(b, function(bb) prod(p(bb, level)^y * (1 - p(bb, level))^(1 - y)))
  post <- function(b) lik(b) * dnorm(b, 0, scale)
  z <- integrate(post, -Inf, Inf, rel.tol = 1e-10)$value
  m <- integrate(function(b) b * post(b), -Inf, Inf, rel.tol = 1e-10)$value / z
  v <- integrate(function(b) (b - m)^2 * post(b), -Inf, Inf, rel.tol = 1e-10)$value / z
  if (model == "empiric") bstar <- log(log(target) / log(prior[1])) else
    bstar <- log((log(target / (1 - target)) - intcpt) / (log(prior[1] / (1 - prior[1])) - intcpt))
  pover <- integrate(post, -Inf, bstar, rel.tol = 1e-10)$value / z
  ptox <- sapply(seq_along(prior), function(k) p(m, k))
  list(mean = m, sd = sqrt(v), pover = pover, ptox = ptox, mtd = which.min(abs(ptox - target)))
}
cases <- list(
  # dfcrm's documented example for crm(): prior, target 0.2, and 10 patients
  list(id = "dfcrm_example", prior = c(0.05, 0.10, 0.20, 0.35, 0.50, 0.70), target = 0.2,
       level = c(3, 4, 4, 3, 3, 4, 3, 2, 2, 2), y = c(0, 0, 1, 0, 0, 1, 1, 0, 0, 0)),
  list(id = "all_tox_low", prior = c(0.05, 0.10, 0.20, 0.35, 0.50, 0.70), target = 0.2,
       level = c(1, 1, 1), y = c(1, 1, 1)),
  list(id = "many_patients", prior = c(0.0840, 0.1567, 0.25, 0.3545, 0.4603), target = 0.25,
       level = c(rep(1, 3), rep(2, 6), rep(3, 15), rep(4, 12)),
       y = c(0, 0, 0, 0, 1, 0, 0, 0, 0, rep(c(1, 0, 0, 0, 0), 3), c(1, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0)))
)
rows <- list()
for (cs in cases) for (model in c("empiric", "logistic")) {
  f <- crm_fit(cs$prior, cs$target, cs$y, cs$level, model)
  L <- length(cs$prior)
  n <- tabulate(cs$level, L); dl <- tabulate(cs$level[cs$y == 1], L)
  rows[[length(rows) + 1]] <- data.frame(id = cs$id, model = model, target = cs$target,
    skeleton = paste(cs$prior, collapse = " "), n = paste(n, collapse = " "), dlt = paste(dl, collapse = " "),
    posterior_mean_beta = f$mean, posterior_sd_beta = f$sd, p_overdose_level1 = f$pover,
    ptox = paste(sprintf("%.12f", f$ptox), collapse = " "), mtd = f$mtd)
}
con <- file(file.path(out, "crm_posterior.csv"), "w")
header(con, "integrate() posterior of the dfcrm model (empiric and logistic, intcpt 3, scale sqrt(1.34))")
write.csv(do.call(rbind, rows), con, row.names = FALSE)
close(con)

## getprior ---------------------------------------------------------------------------
getprior_r <- function(delta, target, nu, K) {
  d <- numeric(K); d[nu] <- log(target)
  if (nu > 1) for (k in nu:2) d[k - 1] <- log(target - delta) / (log(target + delta) / d[k])
  if (nu < K) for (k in nu:(K - 1)) d[k + 1] <- log(target + delta) / (log(target - delta) / d[k])
  exp(d)
}
con <- file(file.path(out, "getprior.csv"), "w")
header(con, "Lee & Cheung (2009) empiric skeleton by indifference intervals")
rows <- list()
for (a in list(c(0.05, 0.25, 3, 5), c(0.10, 0.25, 3, 6), c(0.04, 0.2, 2, 6), c(0.06, 0.3, 5, 5))) {
  rows[[length(rows) + 1]] <- data.frame(halfwidth = a[1], target = a[2], nu = a[3], nlevel = a[4],
    skeleton = paste(sprintf("%.12f", getprior_r(a[1], a[2], a[3], a[4])), collapse = " "))
}
write.csv(do.call(rbind, rows), con, row.names = FALSE)
close(con)

## MTD selection ----------------------------------------------------------------------
pava_w <- function(x, w) {
  # pool adjacent violators, weighted
  vals <- x; wts <- w; size <- rep(1, length(x))
  i <- 1
  while (i < length(vals)) {
    if (vals[i] > vals[i + 1]) {
      nv <- (vals[i] * wts[i] + vals[i + 1] * wts[i + 1]) / (wts[i] + wts[i + 1])
      vals[i] <- nv; wts[i] <- wts[i] + wts[i + 1]; size[i] <- size[i] + size[i + 1]
      vals <- vals[-(i + 1)]; wts <- wts[-(i + 1)]; size <- size[-(i + 1)]
      if (i > 1) i <- i - 1
    } else i <- i + 1
  }
  rep(vals, size)
}
select_r <- function(target, n, y) {
  K <- length(n); elim <- rep(0, K)
  for (i in 1:K) if (n[i] >= 3 && 1 - pbeta(target, y[i] + 1, n[i] - y[i] + 1) > 0.95) { elim[i:K] <- 1; break }
  if (elim[1] == 1 || sum(n[elim == 0]) == 0) return(list(mtd = NA, iso = rep(NA, K)))
  adm <- which(n != 0 & elim == 0)
  ph <- (y[adm] + 0.05) / (n[adm] + 0.1)
  pv <- (y[adm] + 0.05) * (n[adm] - y[adm] + 0.05) / ((n[adm] + 0.1)^2 * (n[adm] + 0.1 + 1))
  iso <- pava_w(ph, 1 / pv)
  d <- abs(iso + seq_along(iso) * 1e-10 - target)
  full <- rep(NA, K); full[adm] <- iso
  list(mtd = adm[which.min(d)], iso = full)
}
set.seed(20261124)
rows <- list()
for (r in 1:200) {
  K <- sample(3:6, 1); target <- sample(c(0.2, 0.25, 0.3, 0.33), 1)
  m <- sample(1:K, 1)
  n <- c(sample(c(3, 6, 9, 12), m, replace = TRUE), rep(0, K - m))
  p <- sort(runif(K, 0, 0.7))
  y <- rbinom(K, n, p)
  s <- select_r(target, n, y)
  rows[[r]] <- data.frame(target = target, n = paste(n, collapse = " "), dlt = paste(y, collapse = " "),
    mtd = ifelse(is.na(s$mtd), "", s$mtd), isotonic = paste(ifelse(is.na(s$iso), "NA", sprintf("%.12f", s$iso)), collapse = " "))
}
con <- file(file.path(out, "select_mtd.csv"), "w")
header(con, "weighted PAVA MTD selection (BOIN rule) on 200 random data sets, set.seed(20261124)")
write.csv(do.call(rbind, rows), con, row.names = FALSE)
close(con)
